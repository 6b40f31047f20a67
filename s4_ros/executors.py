"""Spinning s4's nodes: enough executor threads, s4_core's log in the ROS log, and a quiet stop
on SIGINT/SIGTERM.

Every s4 node has up to three mutually exclusive callback groups (intake, heavy work, periodic
output). The default MultiThreadedExecutor has one thread per CPU core, so on a two-core
machine the matcher and the splat optimizer occupy every thread and offsets stop being
published; one thread per group keeps intake and output running while work runs. (NumPy,
OpenCV and PyTorch release the GIL in their kernels, so these threads do overlap.)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

from rclpy._rclpy_pybind11 import RCLError  # rcl's error type; rclpy has no public alias

THREADS_PER_NODE = 3

_ROS_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error"}


class RosLogHandler(logging.Handler):
    """Forwards Python ``logging`` records (s4_core logs that way) to a node's ROS logger, so
    they reach /rosout and the console like the node's own messages."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self._logger = node.get_logger()

    def emit(self, record: logging.LogRecord) -> None:
        level = max((lvl for lvl in _ROS_LEVELS if lvl <= record.levelno), default=logging.DEBUG)
        getattr(self._logger, _ROS_LEVELS[level])(f"{record.name}: {record.getMessage()}")


def spin_nodes(nodes: Sequence[Node]) -> None:
    """Spin ``nodes`` on one multi-threaded executor until the context shuts down.

    s4_core's INFO and above go to the first node's ROS logger. A signal shuts the context down
    from another thread; if that lands while the executor builds its wait set, rcl reports an
    invalid context. That is a normal stop, not an error.
    """
    core_log = logging.getLogger("s4_core")
    core_log.setLevel(logging.INFO)
    core_log.addHandler(RosLogHandler(nodes[0]))
    executor = MultiThreadedExecutor(num_threads=THREADS_PER_NODE * len(nodes))
    for node in nodes:
        executor.add_node(node)
    try:
        executor.spin()
    except RCLError:
        if rclpy.ok():
            raise
    finally:
        executor.shutdown()
        if rclpy.ok():
            for node in nodes:
                node.destroy_node()
