"""Publishers and subscriptions without rclpy's per-endpoint QoS event handlers, and the graph
check that replaces them for camera inputs.

Unless told otherwise, rclpy gives every publisher and subscription two event handlers
(incompatible QoS, incompatible type). Each is a waitable that the executor adds to its wait
set, checks and enters in Python on every wait, whether or not an event ever comes. Measured
here (one node with 36 publishers and 20 subscriptions, a 2 kHz timer, SingleThreadedExecutor):
767 us of CPU per callback with the handlers, 466 us without them on the publishers, 345 us
without any. The all-in-one node takes ~360 messages a second from a 4-camera RGB-D rig, so the
handlers alone cost it about a tenth of a core.

The event a robot owner needs to hear of is a camera input that cannot be matched: a driver
publishing BEST_EFFORT to a RELIABLE subscription delivers nothing, silently. :func:`qos_mismatch`
finds that in the ROS graph, and the nodes report it on ``/diagnostics``. s4's own outputs are
RELIABLE and VOLATILE, which any volatile subscriber (RViz, a recorder) matches.
"""

from __future__ import annotations

from collections.abc import Callable

from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import QoSCompatibility, QoSProfile, qos_check_compatible
from rclpy.subscription import Subscription


def create_publisher(node: Node, msg_type: type, topic: str, qos: QoSProfile | int) -> Publisher:
    """``node.create_publisher`` without QoS event handlers."""
    return node.create_publisher(msg_type, topic, qos, event_callbacks=PublisherEventCallbacks(use_default_callbacks=False))


def create_subscription(
    node: Node, msg_type: type, topic: str, callback: Callable[[object], None], qos: QoSProfile, raw: bool = False
) -> Subscription:
    """``node.create_subscription`` without QoS event handlers; check the topic with
    :func:`qos_mismatch` instead. ``raw``: the callback gets the serialized message (bytes)."""
    return node.create_subscription(
        msg_type, topic, callback, qos, event_callbacks=SubscriptionEventCallbacks(use_default_callbacks=False), raw=raw
    )


def qos_mismatch(node: Node, topic: str, qos: QoSProfile) -> str:
    """Why a publisher of ``topic`` cannot reach a subscription with ``qos``; "" when every
    publisher the graph knows can (or there is none yet)."""
    for info in node.get_publishers_info_by_topic(node.resolve_topic_name(topic)):
        compatibility, reason = qos_check_compatible(info.qos_profile, qos)
        if compatibility == QoSCompatibility.ERROR:
            why = reason.removeprefix("ERROR: ").rstrip("; ")  # e.g. "Best effort publisher and reliable subscription"
            return f"publisher {info.node_namespace.rstrip('/')}/{info.node_name} of {topic} cannot be matched: {why}"
    return ""
