"""The bounded per-camera frame queues between the subscriptions and a node's worker."""

from __future__ import annotations

import numpy as np

from s4_core.frames import Frame
from s4_ros.frame_queue import MAX_THINNING, FrameQueue


def _frame(camera: str, k: int) -> Frame:
    return Frame(camera, 1_000_000_000 + k, np.zeros((2, 2, 3), np.uint8))  # stamp: arrival k


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


def _gaps(frames: list[Frame]) -> np.ndarray:
    """Frames skipped between consecutive taken frames, plus one (1: none skipped)."""
    return np.diff([f.stamp_ns for f in frames])


def test_a_worker_taking_every_waiting_frame_gets_them_evenly_spaced():
    """A worker that needs two arrivals' time per frame and takes a batch every 30 arrivals:
    every second frame, not the newest 15 then a 15-frame gap (what dropping the oldest gave)."""
    queue = FrameQueue(["a"], max_pending_frames=15)
    taken: list[Frame] = []
    for k in range(600):
        queue.put(_frame("a", k))
        if k % 30 == 29:
            batch = queue.take_waiting()
            assert len(batch) == 15 and batch[-1].stamp_ns % 1000 == k  # the newest frame is never dropped
            taken += batch
    assert _gaps(taken).max() == 2


def test_a_worker_taking_one_frame_at_a_time_gets_them_evenly_spaced_and_soon():
    queue = FrameQueue(["a"], max_pending_frames=15)
    taken, waits = [], []
    for k in range(600):
        queue.put(_frame("a", k))
        if k % 2 == 1:
            frame = queue.take()
            taken.append(frame)
            waits.append(k - frame.stamp_ns % 1000)
    assert _gaps(taken).max() == 2
    assert max(waits) <= 15  # no longer than the queue's 15 frames at the arrival rate


def test_after_a_stall_the_frames_taken_are_among_the_newest():
    """A worker that stalled for 300 arrivals gets frames from the newest MAX_THINNING x 15
    (the queue's size) only, not frames spread over the stall."""
    queue = FrameQueue(["a"], max_pending_frames=15)
    for k in range(30):
        queue.put(_frame("a", k))
    queue.take_waiting()
    for k in range(30, 330):
        queue.put(_frame("a", k))
    batch = queue.take_waiting()
    stamps = [f.stamp_ns % 1000 for f in batch]
    assert len(batch) == 15 and stamps[-1] == 329
    assert stamps[0] > 329 - MAX_THINNING * 15
