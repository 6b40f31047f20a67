"""Camera inputs: serialized messages paired on the executor and decoded by the worker, no QoS
event handlers (what they would have reported comes from the graph), and restamping that works
on serialized messages."""

from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from rclpy.serialization import serialize_message  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from s4_core.camera import PinholeCamera, intrinsics_from_fov  # noqa: E402
from s4_core.offsets import ClockOffset, SyncState  # noqa: E402
from s4_ros.camera_info import camera_info_msg  # noqa: E402
from s4_ros.camera_input import CameraInput  # noqa: E402
from s4_ros.image_messages import image_msg, stamp_ns  # noqa: E402
from s4_ros.qos import sensor_qos  # noqa: E402
from s4_ros.restamping import ImagesOnDemand, Restamper  # noqa: E402
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


def test_received_frames_decode_on_demand_and_malformed_ones_are_counted(ros_env, rng):
    model = PinholeCamera("cam0", 8, 6, intrinsics_from_fov(8, 6, 60.0))
    rgb = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    depth_mm = rng.integers(500, 4000, (6, 8)).astype(np.uint16)
    received = []
    with rclpy.init():
        node = rclpy.create_node("s4_decode_probe")
        camera_input = CameraInput(node, CAMERA, sensor_qos("reliable", 10), received.append)
        driver = rclpy.create_node("driver")
        qos = sensor_qos("reliable", 10)
        publishers = {topic: driver.create_publisher(kind, topic, qos) for topic, kind in
                      [(CAMERA.image_topic, Image), (CAMERA.depth_topic, Image), (CAMERA.info_topic, CameraInfo)]}  # fmt: skip
        assert _wait_until(lambda: all(p.get_subscription_count() for p in publishers.values()))
        for k, pixels in enumerate([rgb, rgb[:3]]):  # the second image has too few rows for its size
            header = Header(frame_id="cam0_optical")
            header.stamp.sec, header.stamp.nanosec = 50 + k, 0
            publishers[CAMERA.info_topic].publish(camera_info_msg(model, header))
            assert _wait_until(lambda: camera_input.model is not None, spin_node=node)
            image = image_msg(pixels, "rgb8", header)
            image.height = 6
            publishers[CAMERA.image_topic].publish(image)
            publishers[CAMERA.depth_topic].publish(image_msg(depth_mm, "16UC1", header))
            assert _wait_until(lambda: len(received) == k + 1, spin_node=node)
        driver.destroy_node()
        first, second = (camera_input.decode(r) for r in received)
        assert camera_input.health().malformed == 1 and second is None
        node.destroy_node()
    assert received[0].stamp_ns == 50_000_000_000 and first.stamp_ns == 50_000_000_000
    np.testing.assert_array_equal(first.rgb, rgb)
    np.testing.assert_allclose(first.depth_m, depth_mm / 1000.0, rtol=1e-6)
    np.testing.assert_allclose(first.model.K, model.K)


def test_images_taken_only_to_restamp_are_subscribed_only_while_someone_listens(ros_env):
    locked = ClockOffset("cam0", 0.25, 1e-4, state=SyncState.LOCKED)
    with rclpy.init():
        node = rclpy.create_node("s4_on_demand_probe")
        images = ImagesOnDemand(node, CAMERA, sensor_qos("reliable"), Restamper(node, CAMERA, sensor_qos("reliable"), lambda _: locked))
        images.update()
        assert not images.subscribed and node.count_subscribers(CAMERA.image_topic) == 0
        listener = rclpy.create_node("synced_listener")
        listening = listener.create_subscription(Image, "/synced/cam0/image_raw", lambda _msg: None, sensor_qos("reliable"))
        assert _wait_until(lambda: images.update() or images.subscribed)
        assert _wait_until(lambda: node.count_subscribers(CAMERA.image_topic) == 1)
        listener.destroy_subscription(listening)
        assert _wait_until(lambda: images.update() or not images.subscribed)
        assert _wait_until(lambda: node.count_subscribers(CAMERA.image_topic) == 0)
        listener.destroy_node()
        node.destroy_node()
