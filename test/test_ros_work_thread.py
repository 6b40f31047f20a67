"""The nodes' work thread: periodic steps that never overlap, and a failing step ends the node."""

from __future__ import annotations

import logging
import threading
import time

import pytest

rclpy = pytest.importorskip("rclpy")
from s4_ros.executors import spin_nodes  # noqa: E402
from s4_ros.work_thread import WorkingNode, WorkStep  # noqa: E402


class _Probe:
    """Records when each step ran and whether two steps ever overlapped."""

    def __init__(self, step_s: float) -> None:
        self.step_s = step_s
        self.calls: dict[str, list[float]] = {"fast": [], "slow": []}
        self.overlapped = False
        self._busy = threading.Lock()

    def step(self, name: str) -> None:
        if not self._busy.acquire(blocking=False):
            self.overlapped = True
            return
        try:
            self.calls[name].append(time.monotonic())
            time.sleep(self.step_s)
        finally:
            self._busy.release()


def test_steps_run_at_their_periods_one_at_a_time(ros_env):
    probe = _Probe(step_s=0.02)
    with rclpy.init():
        node = WorkingNode("work_probe")
        node.start_work([WorkStep(0.05, lambda: probe.step("fast")), WorkStep(0.3, lambda: probe.step("slow"))])
        time.sleep(1.5)
        node.destroy_node()
        stopped_calls = sum(map(len, probe.calls.values()))
        time.sleep(0.3)
    assert not probe.overlapped
    assert sum(map(len, probe.calls.values())) == stopped_calls, "a step ran after the node was destroyed"
    fast, slow = (len(probe.calls[k]) for k in ("fast", "slow"))
    assert 15 <= fast <= 31, probe.calls  # 1.5 s / 0.05 s = 30, minus start-up under load
    assert 3 <= slow <= 6, probe.calls
    assert max(abs(d - 0.05) for d in map(float.__sub__, probe.calls["fast"][1:], probe.calls["fast"][:-1])) < 0.5


def _explode() -> None:
    """A work step that always fails."""
    raise RuntimeError("matcher exploded")


def test_a_failing_step_stops_the_node_and_spin_raises_it(ros_env):
    with rclpy.init():
        node = WorkingNode("work_failure")
        node.start_work([WorkStep(0.05, _explode)])
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="matcher exploded"):
            spin_nodes([node])
        assert time.monotonic() - started < 10.0
        assert not rclpy.ok(), "the context must be shut down, as after an executor callback error"


def test_a_step_that_fails_before_spinning_starts_is_raised_by_spin_too(ros_env):
    """The work thread starts with the node; its first step may fail before the executor exists."""
    with rclpy.init():
        node = WorkingNode("work_early_failure")
        node.start_work([WorkStep(0.05, _explode)])
        deadline = time.monotonic() + 10.0
        while rclpy.ok() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not rclpy.ok(), "the failed step shuts the context down"
        with pytest.raises(RuntimeError, match="matcher exploded"):
            spin_nodes([node])


def test_core_log_records_of_every_level_reach_the_node_log(ros_env, capfd):
    """rclpy refuses two severities from one logging call site; the handler must not hit that."""
    from s4_ros.executors import RosLogHandler

    with rclpy.init():
        node = WorkingNode("log_probe")
        core = logging.getLogger("s4_core.probe")
        handler = RosLogHandler(node)
        core.addHandler(handler)
        try:
            core.warning("first a warning")
            core.error("then an error")
            core.warning("and a warning again")
        finally:
            core.removeHandler(handler)
            node.destroy_node()
    err = capfd.readouterr().err
    assert "s4_core.probe: first a warning" in err and "s4_core.probe: then an error" in err
    assert "s4_core.probe: and a warning again" in err and "severity cannot be changed" not in err


def test_spin_ends_when_a_signal_shuts_the_context_down_behind_the_executors_back(ros_env):
    """rclpy's signal handler shuts the context down in C, without the Python on-shutdown
    callbacks that wake an executor: if that lands after the executor woke for the signal and
    went back to waiting, nothing wakes it again (a tracker hung on SIGTERM in CI that way)."""
    rclpy.init()
    try:
        node = rclpy.create_node("signal_probe")
        spinner = threading.Thread(target=spin_nodes, args=([node],), daemon=True)
        spinner.start()
        time.sleep(0.5)  # the executor is waiting, with no timeout
        context = rclpy.get_default_context()
        context.handle.shutdown()  # what the signal handler does: no on-shutdown callbacks
        spinner.join(timeout=5.0)
        assert not spinner.is_alive(), "spin_nodes still waits on a shut-down context"
    finally:
        rclpy.try_shutdown()
