"""Publishers of s4's results, shared by the per-stage nodes and the all-in-one pipeline node,
so every front end publishes the same topics with the same layout.

- :class:`TrackOutputs`: ``tracks`` (s4/TrackSet), ``tracks/points`` (PointCloud2),
  ``tracks/markers`` (MarkerArray of polylines) of one camera.
- :class:`SplatOutputs`: ``splats`` (PointCloud2), ``splats/ellipsoids`` and ``scaffold``
  (MarkerArrays).
- :class:`SyncOutputs`: ``clock_offsets`` (s4/ClockOffsetArray) and ``correspondences``
  (s4/TrackCorrespondences), with the staleness rule applied to the offsets.

Display-only topics (marker arrays, the track point cloud) are built only while subscribed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from rclpy.node import Node
from rclpy.publisher import Publisher
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from s4.msg import ClockOffsetArray, TrackCorrespondences
from s4.msg import TrackSet as TrackSetMsg
from s4_core.clock import seconds_to_ns
from s4_core.correspondences import Correspondences
from s4_core.offsets import ClockOffset, SyncState
from s4_core.splat.export import GaussianSnapshot, ellipsoid_markers, pointcloud_array
from s4_core.tracks import TrackSet
from s4_ros.endpoints import create_publisher
from s4_ros.markers import scaffold_polylines, splat_ellipsoids, track_polylines
from s4_ros.point_clouds import latest_track_points, point_cloud_msg
from s4_ros.qos import output_qos
from s4_ros.s4_messages import clock_offsets_msg, correspondences_msg, track_set_msg


def stamped_header(stamp_ns: int, frame_id: str) -> Header:
    """A header with an integer-nanosecond stamp."""
    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return header


def offset_with_staleness(offset: ClockOffset, silent_s: float | None, stale_after_s: float, what: str) -> ClockOffset:
    """``offset`` marked LOST when nothing (``what``: "tracks", "images") came from its camera for
    ``stale_after_s`` (a dead driver or tracker, which the core cannot see); ``None``: never yet."""
    if silent_s is None or silent_s <= stale_after_s:
        return offset
    return dataclasses.replace(offset, state=SyncState.LOST, reason=f"no {what} for {silent_s:.1f} s")


def publish_if_subscribed(publisher: Publisher, build: Callable[[], Any]) -> bool:
    """Build and publish a display-only message only while someone subscribes to it.

    Marker arrays and display clouds are built one Python message object per vertex or
    Gaussian; with RViz closed they took a quarter of the all-in-one's work thread in the
    4-camera bench. Data topics (TrackSet, splats, offsets) are always published.
    """
    if publisher.get_subscription_count() == 0:
        return False
    publisher.publish(build())
    return True


class TrackOutputs:
    """One camera's track topics, under ``prefix`` (``""`` in a camera namespace, ``"cam0/"`` else)."""

    def __init__(self, node: Node, prefix: str, max_marker_tracks: int) -> None:
        self._tracks = create_publisher(node, TrackSetMsg, f"{prefix}tracks", output_qos())
        self._points = create_publisher(node, PointCloud2, f"{prefix}tracks/points", output_qos())
        self._markers = create_publisher(node, MarkerArray, f"{prefix}tracks/markers", output_qos())
        self._max_marker_tracks = max_marker_tracks

    def publish(self, tracks: TrackSet, stamp_ns: int) -> None:
        """Publish the window's tracks, stamped with its newest frame (camera clock)."""
        header = stamped_header(stamp_ns, tracks.world_frame or tracks.camera)
        self._tracks.publish(track_set_msg(tracks, header))
        publish_if_subscribed(self._points, lambda: point_cloud_msg(latest_track_points(tracks), header))
        publish_if_subscribed(self._markers, lambda: track_polylines(tracks, header, max_tracks=self._max_marker_tracks))


class SplatOutputs:
    """The splat model's topics."""

    def __init__(self, node: Node, frame_id: str, max_ellipsoids: int, ellipsoid_sigma: float) -> None:
        self._splats = create_publisher(node, PointCloud2, "splats", output_qos())
        self._ellipsoids = create_publisher(node, MarkerArray, "splats/ellipsoids", output_qos())
        self._scaffold = create_publisher(node, MarkerArray, "scaffold", output_qos())
        self._frame_id = frame_id
        self._max_ellipsoids = max_ellipsoids
        self._sigma = ellipsoid_sigma

    def publish(self, snapshot: GaussianSnapshot, node_paths: np.ndarray | None) -> None:
        """Publish the Gaussians at the snapshot's time and, when given, the scaffold node paths
        [Nn, S, 3]."""
        header = stamped_header(seconds_to_ns(snapshot.t_s), self._frame_id)
        self._splats.publish(point_cloud_msg(pointcloud_array(snapshot), header))
        publish_if_subscribed(
            self._ellipsoids, lambda: splat_ellipsoids(ellipsoid_markers(snapshot, self._sigma), header, self._max_ellipsoids)
        )
        if node_paths is not None:
            publish_if_subscribed(self._scaffold, lambda: scaffold_polylines(node_paths, header))


class SyncOutputs:
    """The rig's clock offsets and track correspondences."""

    def __init__(self, node: Node, reference_camera: str, frame_id: str) -> None:
        self._node = node
        self._offsets = create_publisher(node, ClockOffsetArray, "clock_offsets", output_qos())
        self._correspondences = create_publisher(node, TrackCorrespondences, "correspondences", output_qos(10))
        self._reference = reference_camera
        self._frame_id = frame_id

    def publish_offsets(self, offsets: Sequence[ClockOffset]) -> None:
        """Publish the offsets now (stamped with the node's clock)."""
        header = Header(stamp=self._node.get_clock().now().to_msg(), frame_id=self._frame_id)
        self._offsets.publish(clock_offsets_msg(list(offsets), self._reference, header))

    def publish_correspondences(self, matches: Sequence[Correspondences]) -> Mapping[str, int]:
        """Publish one message per camera pair; returns the match count per ``"a-b"`` pair."""
        header = Header(stamp=self._node.get_clock().now().to_msg(), frame_id=self._frame_id)
        for corr in matches:
            self._correspondences.publish(correspondences_msg(corr, header))
        return {f"{c.cam_a}-{c.cam_b}": len(c) for c in matches}
