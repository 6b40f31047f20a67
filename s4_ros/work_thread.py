"""A node's heavy steps (tracking, matching, splat optimization) in a thread of their own.

The executor only runs the light callbacks (decode-and-queue intake, offset and diagnostics
timers, parameter services); the heavy steps run here, outside it. Measured on two cores with
the soak scenario (two 30/25 fps RGB-D cameras, 22 s): with the heavy steps as timer callbacks
on rclpy's MultiThreadedExecutor, which rebuilds its wait set in Python for every callback it
hands to its pool and so holds the GIL most of the time, the pipeline processed 90 of 366
frames; with this thread for the work but the multi-threaded executor still serving the
callbacks, 80 of 239; with a single-threaded executor for the callbacks and this thread for the
work, all ~1,120 that arrived (the intake got faster too). NumPy, OpenCV and PyTorch release the
GIL in their kernels, so the two threads overlap.

Steps of one thread never run concurrently, which is what a mutually exclusive callback group
gave before: a node's heavy state needs no lock against itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rclpy.node import Node


@dataclass(frozen=True)
class WorkStep:
    """A step the work thread calls every ``period_s`` seconds (or as soon as it can after a
    step overran)."""

    period_s: float
    run: Callable[[], None]


class WorkThread:
    """Runs ``steps`` in one daemon thread until stopped or the node's context shuts down.

    A step that raises ends the node: the error is logged, kept in :attr:`error` (``spin_nodes``
    raises it once the executor stopped) and the context is shut down, as an exception in an
    executor callback would.
    """

    def __init__(self, node: Node, steps: Sequence[WorkStep]) -> None:
        if not steps or any(step.period_s <= 0 for step in steps):
            raise ValueError("a work thread needs steps with positive periods")
        self._node = node
        self._steps = list(steps)
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=f"{node.get_name()}-work", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the thread to end and wait for the running step to finish."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        due_s = [time.monotonic()] * len(self._steps)
        while not self._stop.is_set() and self._node.context.ok():
            now_s = time.monotonic()
            for i, step in enumerate(self._steps):
                if now_s >= due_s[i] and not self._stop.is_set():
                    due_s[i] = max(due_s[i] + step.period_s, time.monotonic())
                    if not self._run(step):
                        return
            self._stop.wait(max(0.0, min(due_s) - time.monotonic()))

    def _run(self, step: WorkStep) -> bool:
        try:
            step.run()
        except Exception as error:  # noqa: BLE001 (reported by spin_nodes, see the class docstring)
            if self._stop.is_set() or not self._node.context.ok():
                return False  # a step cut short by the node's shutdown is no failure
            self.error = error
            self._node.get_logger().fatal(f"work step failed, stopping: {error!r}")
            self._node.context.try_shutdown()
            return False
        return True


class WorkingNode(Node):
    """A node whose heavy steps run in a :class:`WorkThread` (see the module docstring)."""

    _work_thread: WorkThread | None = None

    def start_work(self, steps: Sequence[WorkStep]) -> None:
        """Start the node's work thread (once, after the node's I/O exists)."""
        if self._work_thread is not None:
            raise RuntimeError("the work thread already runs")
        self._work_thread = WorkThread(self, steps)

    @property
    def work_error(self) -> BaseException | None:
        """The exception that stopped the work thread, if one did."""
        return self._work_thread.error if self._work_thread is not None else None

    def stop_work(self) -> None:
        """Stop the work thread after its running step (idempotent)."""
        if self._work_thread is not None:
            self._work_thread.stop()

    def destroy_node(self) -> None:
        self.stop_work()
        super().destroy_node()
