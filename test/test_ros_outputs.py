"""Display-only topics cost nothing while nobody subscribes."""

from __future__ import annotations

import time

import pytest

rclpy = pytest.importorskip("rclpy")
from std_msgs.msg import String  # noqa: E402

from s4_ros.outputs import publish_if_subscribed  # noqa: E402


def test_display_messages_are_built_only_while_subscribed(ros_env):
    built: list[str] = []

    def build() -> String:
        built.append("x")
        return String(data="x")

    with rclpy.init():
        node = rclpy.create_node("lazy_probe")
        publisher = node.create_publisher(String, "lazy", 1)
        assert not publish_if_subscribed(publisher, build) and not built
        node.create_subscription(String, "lazy", lambda _msg: None, 1)
        deadline = time.monotonic() + 5.0
        while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert publish_if_subscribed(publisher, build) and built == ["x"]
        node.destroy_node()
