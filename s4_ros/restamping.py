"""Republishing a camera's images stamped with their capture time in the reference clock.

Downstream nodes can then pair the cameras' frames with a plain exact/approximate time
synchronizer. Only cameras whose offset is LOCKED are republished: a guessed clock would pair
the wrong frames silently.
"""

from __future__ import annotations

from collections.abc import Callable

from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile
from rclpy.subscription import Subscription
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from s4_core.bagtool.cdr_header import header_stamp_ns, with_header_stamp
from s4_core.clock import ClockModel, ns_to_seconds, seconds_to_ns
from s4_core.offsets import ClockOffset, SyncState
from s4_ros.endpoints import create_publisher
from s4_ros.rig import RigCamera


def capture_stamp_ns(stamp_ns: int, offset: ClockOffset) -> int:
    """Reference-clock capture time of a frame the camera stamped ``stamp_ns`` (s4_core.clock's
    convention), computed in integer nanoseconds apart from the offset itself."""
    clock = ClockModel(offset.offset_s, offset.drift_ppm, offset.t0_s)
    return int(stamp_ns) - int(seconds_to_ns(clock.offset_at(ns_to_seconds(stamp_ns))))


class Restamper:
    """Republishes one camera's image and camera_info under ``synced/<camera>/`` (``image_raw``,
    or ``image_raw/compressed``, and ``camera_info``).

    The node hands it the camera's serialized messages (:meth:`image`, :meth:`camera_info`)
    from the subscriptions it has anyway: a second subscription to a topic would cost the
    executor a second take of every image. Only the stamp bytes of a copy are rewritten, nothing
    is converted to Python, and nothing at all is done while nobody subscribes to the synced
    topic.
    """

    def __init__(
        self,
        node: Node,
        camera: RigCamera,
        qos: QoSProfile,
        offset_of: Callable[[str], ClockOffset | None],
    ) -> None:
        self._camera = camera.name
        self._offset_of = offset_of
        self.image_type = CompressedImage if camera.compressed else Image
        suffix = "/compressed" if camera.compressed else ""
        self._image_pub = create_publisher(node, self.image_type, f"synced/{camera.name}/image_raw{suffix}", qos)
        self._info_pub = create_publisher(node, CameraInfo, f"synced/{camera.name}/camera_info", qos)

    def image(self, raw: bytes) -> None:
        """Republish one serialized image of the camera (when LOCKED and subscribed)."""
        self._republish(raw, self._image_pub)

    def camera_info(self, raw: bytes) -> None:
        """Republish one serialized camera_info of the camera (when LOCKED and subscribed)."""
        self._republish(raw, self._info_pub)

    def _republish(self, raw: bytes, publisher: Publisher) -> None:
        if publisher.get_subscription_count() == 0:
            return
        offset = self._offset_of(self._camera)
        if offset is None or offset.state is not SyncState.LOCKED:
            return
        publisher.publish(with_header_stamp(raw, capture_stamp_ns(header_stamp_ns(raw), offset)))

    def images_wanted(self) -> bool:
        """Whether somebody subscribes to the restamped images."""
        return self._image_pub.get_subscription_count() > 0


class ImagesOnDemand:
    """A camera's image subscription for a node that takes the images only to restamp them:
    held only while somebody subscribes to the restamped images.

    A subscription takes every image whether or not it is republished (120 a second, 28 MB, on
    the 4-camera bench rig, where nobody listens). :meth:`update`, called once a second, follows
    the demand, so a new subscriber to the synced images gets them within about a second.
    """

    def __init__(self, node: Node, camera: RigCamera, qos: QoSProfile, restamper: Restamper) -> None:
        self._node = node
        self._topic = camera.image_topic
        self._qos = qos
        self._restamper = restamper
        self._subscription: Subscription | None = None

    @property
    def subscribed(self) -> bool:
        """Whether the camera's images are subscribed now."""
        return self._subscription is not None

    def update(self) -> None:
        """Subscribe or unsubscribe the camera's images as the restamped ones are wanted."""
        wanted = self._restamper.images_wanted()
        if wanted and self._subscription is None:
            self._subscription = self._node.create_subscription(
                self._restamper.image_type, self._topic, self._restamper.image, self._qos, raw=True
            )
        elif not wanted and self._subscription is not None:
            self._node.destroy_subscription(self._subscription)
            self._subscription = None
