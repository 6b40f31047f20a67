"""The s4 interfaces are generated for real and travel between two processes over DDS."""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402

from peers.custom_message_samples import TOPICS, sample  # noqa: E402


def _fields_equal(a, b) -> bool:
    """Deep equality of two ROS messages, comparing array fields element-wise."""
    if type(a) is not type(b):
        return False
    if hasattr(a, "get_fields_and_field_types"):
        return all(_fields_equal(getattr(a, f), getattr(b, f)) for f in a.get_fields_and_field_types())
    if isinstance(a, (list, tuple)) and a and hasattr(a[0], "get_fields_and_field_types"):
        return len(a) == len(b) and all(_fields_equal(x, y) for x, y in zip(a, b))
    return np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("msg_type", list(TOPICS.values()), ids=lambda t: t.__name__)
def test_serialization_round_trip(msg_type):
    msg = sample(msg_type)
    assert _fields_equal(deserialize_message(serialize_message(msg), msg_type), msg)


def test_every_interface_crosses_processes(ros_env, python_exe, tmp_path):
    from conftest import REPO_ROOT

    peer = subprocess.Popen(
        [python_exe, "-m", "peers.publish_custom_messages"],
        cwd=REPO_ROOT / "test", env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    received: dict[str, object] = {}
    rclpy.init()
    try:
        node = rclpy.create_node("s4_test_subscriber")
        for topic, msg_type in TOPICS.items():
            node.create_subscription(msg_type, topic, lambda m, t=topic: received.setdefault(t, m), 10)
        deadline = time.monotonic() + 15.0
        while len(received) < len(TOPICS) and time.monotonic() < deadline and peer.poll() is None:
            rclpy.spin_once(node, timeout_sec=0.1)
        node.destroy_node()
    finally:
        rclpy.shutdown()
        peer.kill()
        output = peer.communicate()[0]
    missing = sorted(set(TOPICS) - set(received))
    assert not missing, f"never received {missing} within 15 s; peer said:\n{output}"
    for topic, msg_type in TOPICS.items():
        assert _fields_equal(received[topic], sample(msg_type)), f"{topic} arrived changed"
