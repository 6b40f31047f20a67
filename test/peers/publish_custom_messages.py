"""Publisher peer process: publishes every s4 interface until killed (or 20 s pass)."""

from __future__ import annotations

import time

import rclpy
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy

from peers.custom_message_samples import TOPICS, sample


def main() -> None:
    rclpy.init()
    node = rclpy.create_node("s4_test_publisher")
    qos = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE,
                     durability=QoSDurabilityPolicy.VOLATILE)
    publishers = [(node.create_publisher(t, topic, qos), sample(t)) for topic, t in TOPICS.items()]
    print("publishing", flush=True)
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline:
        for publisher, msg in publishers:
            publisher.publish(msg)
        time.sleep(0.05)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
