"""Republishing a camera's images stamped with their capture time in the reference clock.

Downstream nodes can then pair the cameras' frames with a plain exact/approximate time
synchronizer. Only cameras whose offset is LOCKED are republished: a guessed clock would pair
the wrong frames silently.
"""

from __future__ import annotations

from collections.abc import Callable

from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from s4_core.clock import ClockModel, ns_to_seconds, seconds_to_ns
from s4_core.offsets import ClockOffset, SyncState
from s4_ros.image_messages import stamp_ns
from s4_ros.rig import RigCamera


def capture_stamp_ns(stamp_ns: int, offset: ClockOffset) -> int:
    """Reference-clock capture time of a frame the camera stamped ``stamp_ns`` (s4_core.clock's
    convention), computed in integer nanoseconds apart from the offset itself."""
    clock = ClockModel(offset.offset_s, offset.drift_ppm, offset.t0_s)
    return int(stamp_ns) - int(seconds_to_ns(clock.offset_at(ns_to_seconds(stamp_ns))))


class Restamper:
    """Subscribes one camera's image and camera_info and republishes them under
    ``synced/<camera>/`` (``image_raw``, or ``image_raw/compressed``, and ``camera_info``)."""

    def __init__(
        self,
        node: Node,
        camera: RigCamera,
        qos: QoSProfile,
        offset_of: Callable[[str], ClockOffset | None],
    ) -> None:
        self._camera = camera.name
        self._offset_of = offset_of
        image_type = CompressedImage if camera.compressed else Image
        suffix = "/compressed" if camera.compressed else ""
        image_pub = node.create_publisher(image_type, f"synced/{camera.name}/image_raw{suffix}", qos)
        info_pub = node.create_publisher(CameraInfo, f"synced/{camera.name}/camera_info", qos)
        node.create_subscription(image_type, camera.image_topic, lambda m: self._republish(m, image_pub), qos)
        node.create_subscription(CameraInfo, camera.info_topic, lambda m: self._republish(m, info_pub), qos)

    def _republish(self, msg: Image | CompressedImage | CameraInfo, publisher) -> None:
        offset = self._offset_of(self._camera)
        if offset is None or offset.state is not SyncState.LOCKED:
            return
        capture_ns = capture_stamp_ns(stamp_ns(msg.header), offset)
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(capture_ns, 1_000_000_000)
        publisher.publish(msg)
