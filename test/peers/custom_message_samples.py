"""One distinctive instance of every s4 interface, shared by the publisher peer and the test."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from s4.msg import ClockOffset, ClockOffsetArray, TrackCorrespondences, TrackSet
from std_msgs.msg import Header

TOPICS = {
    "/s4_test/clock_offset": ClockOffset,
    "/s4_test/clock_offsets": ClockOffsetArray,
    "/s4_test/correspondences": TrackCorrespondences,
    "/s4_test/tracks": TrackSet,
}


def sample(msg_type: type):
    """A message of ``msg_type`` with every field set to a non-default value."""
    header = Header(stamp=Time(sec=1_700_000_123, nanosec=456_789), frame_id="world")
    offset = ClockOffset(
        camera="cam2", offset_s=-1.2345, stddev_s=0.0021, drift_ppm=37.5,
        t0=Time(sec=1_700_000_000, nanosec=5), state=ClockOffset.STATE_LOCKED, reason="",
    )
    if msg_type is ClockOffset:
        return offset
    if msg_type is ClockOffsetArray:
        lost = ClockOffset(camera="cam3", state=ClockOffset.STATE_LOST, reason="no shared motion")
        return ClockOffsetArray(header=header, reference_camera="cam0", offsets=[offset, lost])
    if msg_type is TrackCorrespondences:
        return TrackCorrespondences(
            header=header, camera_a="cam0", camera_b="cam1",
            ids_a=np.array([1, 5, 9], np.int64), ids_b=np.array([7, 3, 2], np.int64),
            weights=np.array([0.9, 0.5, 0.25], np.float32), cost=0.125,
        )
    if msg_type is TrackSet:
        T, N, D = 3, 4, 5
        grid = np.arange(T * N, dtype=np.float32)
        return TrackSet(
            header=header, camera="cam1",
            stamps_ns=np.array([10, 20, 35], np.int64), track_ids=np.arange(100, 100 + N, dtype=np.int64),
            num_frames=T, num_tracks=N,
            uv=np.repeat(grid, 2) * 0.5, xyz=np.repeat(grid, 3) * 0.25,
            visible=(np.arange(T * N) % 3 != 0).astype(np.uint8).tobytes(),
            confidence=grid / grid.max(), descriptor_dim=D,
            descriptors=np.linspace(-1, 1, N * D, dtype=np.float32),
        )
    raise TypeError(f"no sample for {msg_type}")
