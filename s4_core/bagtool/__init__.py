"""Offline sync of recorded rosbag2 files (sqlite3 and mcap): ``s4 sync-bag``'s library.

Finds the cameras of a recording, streams it through the s4 pipeline, and writes a new bag
holding every input message unchanged plus the offsets, tracks, correspondences, splats and
each camera re-stamped to the reference clock. Pure Python on ``rosbags``; no rclpy.
"""

from s4_core.bagtool.discovery import CameraOverride, CameraTopics, cameras_from_overrides, discover_cameras
from s4_core.bagtool.pipeline_binding import pipeline_factory
from s4_core.bagtool.progress import ProgressBar
from s4_core.bagtool.report import plot_offsets, result_dict, summary_table, write_result_json
from s4_core.bagtool.sync import BagSyncError, BagSyncOptions, BagSyncResult, SyncProgress, sync_bag

__all__ = [
    "BagSyncError",
    "BagSyncOptions",
    "BagSyncResult",
    "CameraOverride",
    "CameraTopics",
    "ProgressBar",
    "SyncProgress",
    "cameras_from_overrides",
    "discover_cameras",
    "pipeline_factory",
    "plot_offsets",
    "result_dict",
    "summary_table",
    "sync_bag",
    "write_result_json",
]
