"""``diagnostic_msgs/DiagnosticArray`` per camera, in the shape the ROS diagnostics tools expect.

Status names are ``"<node>: <camera>"`` so the aggregator and rqt_robot_monitor group them per
node; ``values`` carry the counters behind the level as strings.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Mapping

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from std_msgs.msg import Header

from s4_ros.endpoints import create_publisher

OK, WARN, ERROR, STALE = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR, DiagnosticStatus.STALE


def camera_status(
    node_name: str, camera: str, level: bytes, message: str, values: Mapping[str, object] | None = None
) -> DiagnosticStatus:
    """One camera's status as seen by one node."""
    return DiagnosticStatus(
        level=level,
        name=f"{node_name}: {camera}",
        message=message,
        hardware_id=camera,
        values=key_values(values or {}),
    )


def report_qos_mismatch(status: DiagnosticStatus, mismatch: str) -> None:
    """Make ``mismatch`` (an input publisher that cannot be matched, or "") the message of
    ``status``, at least WARN: it is the cause of whatever else the camera shows (no images)."""
    if mismatch:
        status.level, status.message = max(status.level, WARN), mismatch


def key_values(values: Mapping[str, object]) -> list[KeyValue]:
    """Diagnostic key/values, every value as text."""
    return [KeyValue(key=str(k), value=str(v)) for k, v in values.items()]


def diagnostic_array(statuses: list[DiagnosticStatus], stamp: Time) -> DiagnosticArray:
    """The statuses under one header."""
    return DiagnosticArray(header=Header(stamp=stamp), status=statuses)


class DiagnosticsPublisher:
    """Publishes a node's statuses on ``/diagnostics``, the topic the diagnostics tools read."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._publisher = create_publisher(node, DiagnosticArray, "/diagnostics", 10)

    def publish(self, statuses: list[DiagnosticStatus]) -> None:
        """Publish the statuses now."""
        self._publisher.publish(diagnostic_array(statuses, self._node.get_clock().now().to_msg()))

    def parameter_rejected(self, reason: str) -> None:
        """Report a rejected parameter update (the parameter helper has already logged it)."""
        status = camera_status(self._node.get_name(), "parameters", WARN, f"rejected parameter update: {reason}")
        status.hardware_id = ""
        self.publish([status])


class SurvivedErrors:
    """Errors a node's worker caught and survived, counted for its diagnostics.

    A live node must outlive one failed estimate (a numerical failure in a solver, say): the
    worker logs the error with its traceback, counts it, and goes on with the next frames.
    """

    def __init__(self, node: Node, what: str) -> None:
        """Args: node: whose logger reports the errors; what: the failed step, e.g. "estimate"."""
        self._node = node
        self._what = what
        self._lock = threading.Lock()
        self._count = 0

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def record(self, error: Exception) -> None:
        """Log and count one error."""
        with self._lock:
            self._count += 1
        trace = "".join(traceback.format_exception(error))
        self._node.get_logger().error(f"{self._what} failed, continuing: {error!r}\n{trace}", throttle_duration_sec=10.0)
