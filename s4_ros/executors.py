"""Spinning s4's nodes: one executor thread for the light callbacks, s4_core's log in the ROS
log, and a quiet stop on SIGINT/SIGTERM.

The heavy steps run in each node's :class:`~s4_ros.work_thread.WorkThread`, so the executor's
callbacks are all short; a single-threaded executor serves them with the least Python per
callback (why that matters: :mod:`s4_ros.work_thread`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from rclpy._rclpy_pybind11 import InvalidHandle, RCLError  # rcl's error types; rclpy has no public aliases

from s4_ros.work_thread import WorkingNode


class RosLogHandler(logging.Handler):
    """Forwards Python ``logging`` records (s4_core logs that way) to a node's ROS logger, so
    they reach /rosout and the console like the node's own messages.

    rclpy ties a severity to each line of code that logs, and refuses a second severity from the
    same line; hence one call per severity below.
    """

    def __init__(self, node: Node) -> None:
        super().__init__()
        self._logger = node.get_logger()

    def emit(self, record: logging.LogRecord) -> None:
        message = f"{record.name}: {record.getMessage()}"
        if record.levelno >= logging.ERROR:
            self._logger.error(message)
        elif record.levelno >= logging.WARNING:
            self._logger.warning(message)
        elif record.levelno >= logging.INFO:
            self._logger.info(message)
        else:
            self._logger.debug(message)


def spin_nodes(nodes: Sequence[Node]) -> None:
    """Spin ``nodes`` on one single-threaded executor until the context shuts down.

    s4_core's INFO and above go to the first node's ROS logger. A signal or a failed work step
    shuts the context down from another thread; if that lands before or while the executor
    builds its wait set, rcl reports an invalid context. That is a normal stop, not an error.

    Raises:
        Exception: the error that stopped a node's work thread (after the executor stopped).
    """
    core_log = logging.getLogger("s4_core")
    core_log.setLevel(logging.INFO)
    handler = RosLogHandler(nodes[0])
    core_log.addHandler(handler)
    working = [node for node in nodes if isinstance(node, WorkingNode)]
    executor = None
    try:
        if rclpy.ok():  # else a work step failed already (raised below)
            executor = SingleThreadedExecutor()  # in the try: the context may shut down meanwhile
            for node in nodes:
                executor.add_node(node)
            _wake_on_shutdown(executor)
            executor.spin()
    except ExternalShutdownException:
        pass  # the context was shut down (a signal, or a failed work step: raised below)
    except RCLError:
        if rclpy.ok():
            raise
    finally:
        core_log.removeHandler(handler)
        for node in working:
            node.stop_work()
        if executor is not None:
            executor.shutdown()
        if rclpy.ok():
            for node in nodes:
                node.destroy_node()
    for node in working:
        if node.work_error is not None:
            raise node.work_error


def _wake_on_shutdown(executor: SingleThreadedExecutor, poll_s: float = 0.5) -> None:
    """Wake ``executor`` once the default context is shut down, however that happened.

    rclpy's SIGINT/SIGTERM handler triggers the executors' signal guard and then shuts the
    contexts down in C, without the Python on-shutdown callbacks that wake an executor. When the
    executor handles the guard before the shutdown lands, it finds the context still valid and
    waits again, with no timeout and nothing left to wake it: the node never exits (a tracker
    hung on SIGTERM in CI that way). A daemon thread that checks the context every ``poll_s``
    closes that gap without putting a timeout (and its per-wait timer) on every spin.
    """
    context = rclpy.get_default_context()

    def watch() -> None:
        while context.ok():
            time.sleep(poll_s)
        try:
            executor.wake()
        except (RCLError, InvalidHandle):
            pass  # the executor is gone already: nothing waits

    threading.Thread(target=watch, name="s4-shutdown-watch", daemon=True).start()


def run_node(make_node: Callable[[], Node], args: list[str] | None = None) -> None:
    """A node executable's main: start ROS with ``args``, spin the node ``make_node`` builds
    until shutdown; Ctrl-C ends it quietly."""
    try:
        with rclpy.init(args=args):
            spin_nodes([make_node()])
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
