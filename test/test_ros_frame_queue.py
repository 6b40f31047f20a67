"""The bounded per-camera frame queues between the subscriptions and a node's worker."""

from __future__ import annotations

import numpy as np

from s4_core.frames import Frame
from s4_ros.frame_queue import FrameQueue


def _frame(camera: str, k: int) -> Frame:
    return Frame(camera, 1_000_000_000 + k, np.zeros((2, 2, 3), np.uint8))


def test_frames_leave_in_arrival_order_and_a_full_camera_drops_its_oldest():
    queue = FrameQueue(["a", "b"], max_pending_frames=4)  # two per camera
    for camera, k in [("a", 0), ("b", 1), ("a", 2), ("a", 3), ("b", 4)]:
        queue.put(_frame(camera, k))
    taken = [queue.take() for _ in range(4)]
    assert [(f.camera, f.stamp_ns % 10) for f in taken] == [("b", 1), ("a", 2), ("a", 3), ("b", 4)]  # a0 dropped
    assert queue.take() is None
    stats = queue.stats()
    assert (stats.queued, stats.dropped, stats.taken, stats.pending, stats.capacity) == (5, 1, 4, 0, 4)


def test_taking_every_waiting_frame_keeps_arrival_order_and_the_even_drops():
    queue = FrameQueue(["a", "b"], max_pending_frames=4)  # two per camera
    for camera, k in [("a", 0), ("b", 1), ("a", 2), ("a", 3), ("b", 4)]:
        queue.put(_frame(camera, k))
    taken = queue.take_waiting()
    assert [(f.camera, f.stamp_ns % 10) for f in taken] == [("b", 1), ("a", 2), ("a", 3), ("b", 4)]  # a0 dropped
    assert queue.take_waiting() == [] and queue.take() is None
    queue.put(_frame("b", 5))
    assert [f.stamp_ns % 10 for f in queue.take_waiting()] == [5]
    stats = queue.stats()
    assert (stats.queued, stats.dropped, stats.taken, stats.pending, stats.peak_pending) == (6, 1, 5, 0, 4)
