"""Bounded per-camera frame queues between the subscription callbacks and a node's worker.

When the worker is slower than the cameras, frames must be dropped, and *which* ones decides how
gracefully the node degrades. One shared queue that drops its oldest frames on overflow hands a
camera's tracker bursts of consecutive frames separated by long gaps, across which optical flow
fails. Here every camera has its own bounded queue that drops its oldest frame, and the worker
takes frames in the order they arrived (one at a time, or all that wait at once). In steady
overload each queue stays full, so every camera is thinned *evenly* to its share of the
worker's rate: the tracker sees a lower constant frame rate, and a frame waits at most
``capacity / arrival rate``.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from itertools import count
from typing import Generic, Protocol, TypeVar


class _OfACamera(Protocol):
    @property
    def camera(self) -> str: ...


FrameT = TypeVar("FrameT", bound=_OfACamera)


@dataclass(frozen=True)
class QueueStats:
    """What happened in a :class:`FrameQueue` so far.

    Attributes:
        queued: frames put in.
        dropped: frames dropped because their camera's queue was full.
        taken: frames handed to the worker.
        pending: frames waiting now, all cameras.
        peak_pending: the most frames ever waiting at once, all cameras.
        capacity: the most frames that can wait at once, all cameras.
    """

    queued: int
    dropped: int
    taken: int
    pending: int
    peak_pending: int
    capacity: int


class FrameQueue(Generic[FrameT]):
    """Per-camera bounded FIFO queues of frames (anything with a ``camera``); thread-safe.

    Example:
        queue = FrameQueue(["cam0", "cam1"], max_pending_frames=60)
        queue.put(frame)              # subscription callback
        frame = queue.take()          # worker: the oldest waiting frame, or None
        frames = queue.take_waiting()  # worker, or: every waiting frame, oldest first
    """

    def __init__(self, cameras: list[str], max_pending_frames: int) -> None:
        """Args: cameras: camera names; max_pending_frames: capacity of all queues together,
        split evenly (at least one frame per camera)."""
        per_camera = max(1, max_pending_frames // len(cameras))
        self._lock = threading.Lock()
        self._queues: dict[str, deque[tuple[int, FrameT]]] = {c: deque(maxlen=per_camera) for c in cameras}
        self._arrival = count()
        self._counts = {"queued": 0, "dropped": 0, "taken": 0, "peak_pending": 0}

    def put(self, frame: FrameT) -> None:
        """Queue a frame, dropping its camera's oldest waiting frame when that queue is full.

        Raises:
            KeyError: a camera the queue was not made for.
        """
        queue = self._queues[frame.camera]
        with self._lock:
            self._counts["dropped"] += len(queue) == queue.maxlen
            queue.append((next(self._arrival), frame))
            self._counts["queued"] += 1
            self._counts["peak_pending"] = max(self._counts["peak_pending"], self._pending())

    def take(self) -> FrameT | None:
        """The waiting frame that arrived first, any camera; None when nothing waits."""
        with self._lock:
            heads = [q for q in self._queues.values() if q]
            if not heads:
                return None
            self._counts["taken"] += 1
            return min(heads, key=lambda q: q[0][0]).popleft()[1]

    def take_waiting(self) -> list[FrameT]:
        """Every waiting frame, all cameras, in the order they arrived (empty when none waits).

        A worker that can process several cameras' frames at once (each camera's tracker on
        its own thread) takes them together; which frames wait is still decided by the
        per-camera drops of :meth:`put`, so thinning stays even.
        """
        with self._lock:
            waiting = sorted(item for queue in self._queues.values() for item in queue)  # arrival numbers are unique
            for queue in self._queues.values():
                queue.clear()
            self._counts["taken"] += len(waiting)
            return [frame for _, frame in waiting]

    def stats(self) -> QueueStats:
        """Counters for diagnostics."""
        with self._lock:
            capacity = sum(q.maxlen or 0 for q in self._queues.values())
            return QueueStats(**self._counts, pending=self._pending(), capacity=capacity)

    def pending(self) -> int:
        """Frames waiting now, all cameras."""
        with self._lock:
            return self._pending()

    def _pending(self) -> int:
        return sum(len(q) for q in self._queues.values())
