"""Quality of service for s4's topics.

Sensor input is KEEP_LAST with a small depth (a late frame is worth less than the next one)
and a configurable reliability: a BEST_EFFORT subscription matches every publisher, a RELIABLE
one only RELIABLE publishers, but BEST_EFFORT over the default transport loses large images
(see ``DEFAULT_RELIABILITY``). Outputs are RELIABLE so any subscriber matches them.
"""

from __future__ import annotations

from rclpy.qos import QoSDurabilityPolicy, QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy

RELIABILITY_POLICIES = {"reliable": QoSReliabilityPolicy.RELIABLE, "best_effort": QoSReliabilityPolicy.BEST_EFFORT}

#: Measured here (Fast DDS default transports, two processes, 90 rgb8 images at 30 Hz, subscriber
#: depth 2): 640x480 RELIABLE 90/90 received (median latency 14.6 ms); BEST_EFFORT 10/90 with a
#: BEST_EFFORT publisher and 12/90 with a RELIABLE one. 160x120: 90/90 in all three cases
#: (~1 ms). A camera driver that publishes BEST_EFFORT needs ``reliability: best_effort`` here,
#: since a RELIABLE subscription does not match it.
DEFAULT_RELIABILITY = "reliable"

#: Depth of the sensor input queues: two frames absorb one slow callback without piling up.
DEFAULT_SENSOR_DEPTH = 2


def sensor_qos(reliability: str = DEFAULT_RELIABILITY, depth: int = DEFAULT_SENSOR_DEPTH) -> QoSProfile:
    """KEEP_LAST ``depth``, VOLATILE, with the named reliability.

    Raises:
        ValueError: an unknown reliability name.
    """
    try:
        policy = RELIABILITY_POLICIES[reliability]
    except KeyError:
        raise ValueError(f"reliability must be one of {', '.join(RELIABILITY_POLICIES)}, got {reliability!r}") from None
    return QoSProfile(
        history=QoSHistoryPolicy.KEEP_LAST, depth=depth, reliability=policy, durability=QoSDurabilityPolicy.VOLATILE
    )


def output_qos(depth: int = 5) -> QoSProfile:
    """RELIABLE KEEP_LAST for s4's outputs (offsets, tracks, clouds, markers)."""
    return QoSProfile(
        history=QoSHistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=QoSReliabilityPolicy.RELIABLE,
        durability=QoSDurabilityPolicy.VOLATILE,
    )
