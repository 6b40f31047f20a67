"""Camera inputs without rclpy's QoS event handlers (what the handlers would have reported comes
from the graph), and restamping that works on serialized messages."""

from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from rclpy.serialization import serialize_message  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from s4_core.offsets import ClockOffset, SyncState  # noqa: E402
from s4_ros.camera_input import CameraInput  # noqa: E402
from s4_ros.image_messages import image_msg, stamp_ns  # noqa: E402
from s4_ros.qos import sensor_qos  # noqa: E402
from s4_ros.restamping import Restamper  # noqa: E402
from s4_ros.rig import RigCamera  # noqa: E402

CAMERA = RigCamera("cam0", "/cam0/image_raw", "/cam0/camera_info", "/cam0/depth")


def _wait_until(condition, spin_node=None, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        if spin_node is not None:
            rclpy.spin_once(spin_node, timeout_sec=0.05)
        else:
            time.sleep(0.05)
    return condition()


def test_camera_input_adds_no_waitables_and_names_an_unmatchable_publisher(ros_env):
    with rclpy.init():
        node = rclpy.create_node("s4_input_probe")
        waitables = len(list(node.waitables))  # rclpy's own (its /parameter_events publisher's handlers)
        camera_input = CameraInput(node, CAMERA, sensor_qos("reliable"), lambda _frame: None)
        assert len(list(node.subscriptions)) == 3
        assert len(list(node.waitables)) == waitables  # rclpy's default would add two per subscription
        assert camera_input.qos_mismatch() == ""

        driver = rclpy.create_node("best_effort_driver")
        driver.create_publisher(Image, CAMERA.depth_topic, sensor_qos("best_effort"))
        assert _wait_until(lambda: camera_input.qos_mismatch() != "")
        mismatch = camera_input.qos_mismatch()
        assert "/best_effort_driver" in mismatch and CAMERA.depth_topic in mismatch and mismatch.endswith("Best effort publisher and reliable subscription")

        best_effort_input = CameraInput(node, CAMERA, sensor_qos("best_effort"), lambda _frame: None)
        assert best_effort_input.qos_mismatch() == ""  # a BEST_EFFORT subscription matches every publisher
        driver.destroy_node()
        node.destroy_node()


def test_restamped_image_carries_the_capture_stamp_and_costs_nothing_unsubscribed(ros_env):
    offset = ClockOffset("cam0", 0.25, 1e-4, state=SyncState.LOCKED)
    header = Header(frame_id="cam0_optical")
    header.stamp.sec, header.stamp.nanosec = 100, 500_000_000
    msg = image_msg(np.arange(12, dtype=np.uint8).reshape(2, 2, 3), "rgb8", header)
    received: list[Image] = []
    offset_asked: list[str] = []

    def offset_of(name: str) -> ClockOffset:
        offset_asked.append(name)
        return offset

    with rclpy.init():
        node = rclpy.create_node("s4_restamp_probe")
        restamper = Restamper(node, CAMERA, sensor_qos("reliable"), offset_of)
        restamper.image(serialize_message(msg))
        assert not offset_asked  # nobody subscribes yet: the message is dropped before any work
        listener = rclpy.create_node("synced_listener")
        listener.create_subscription(Image, "/synced/cam0/image_raw", received.append, sensor_qos("reliable"))
        assert _wait_until(lambda: node.count_subscribers("/synced/cam0/image_raw") > 0)
        restamper.image(serialize_message(msg))
        assert _wait_until(lambda: received, spin_node=listener)
        listener.destroy_node()
        node.destroy_node()
    assert len(received) == 1
    assert stamp_ns(received[0].header) == 100_250_000_000 and received[0].header.frame_id == "cam0_optical"
    assert bytes(received[0].data) == bytes(msg.data) and received[0].encoding == "rgb8"
