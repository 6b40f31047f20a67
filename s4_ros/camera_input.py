"""One camera's subscriptions turned into core Frames: image (raw or compressed), camera_info and
an optional aligned depth image, paired by stamp.

The subscription callbacks run on the executor thread and only pair serialized messages: each
image with its depth and the calibration becomes a :class:`ReceivedFrame` handed to
``on_frame`` (the nodes queue it for their worker), and the worker decodes it with
:meth:`CameraInput.decode`. A subscription keeps only ``queue_depth`` messages, and what the
executor cannot take in time is lost without a trace. On the 4-camera bench, whose 2 cores the
all-in-one saturates, 17 % of the frames sent never reached its queue while the executor
decoded them (JPEG, depth units, the conversion of the messages to Python), 11 % since. On the
worker, a frame its queue drops (counted) is never decoded at all.

Frames are dropped, counted and explained while there is no camera_info yet, and when an image
cannot be decoded; nothing here raises into the executor. A camera_info is converted only when
its calibration changed. The subscriptions have no QoS event handlers (see
:mod:`s4_ros.endpoints`); :meth:`CameraInput.qos_mismatch` tells the node's diagnostics about a
publisher they cannot match instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rclpy.node import Node
from rclpy.qos import QoSProfile
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from s4_core.bagtool.cdr_header import header_stamp_ns
from s4_core.camera import PinholeCamera
from s4_core.frames import Frame
from s4_ros.camera_info import CalibrationChanges, distortion_warning, pinhole_from_camera_info
from s4_ros.endpoints import create_subscription, qos_mismatch
from s4_ros.exact_time_pairing import ExactTimePairing
from s4_ros.image_messages import frame_from_msgs
from s4_ros.restamping import Restamper
from s4_ros.rig import RigCamera


@dataclass(frozen=True)
class InputHealth:
    """What happened to one camera's messages so far.

    Attributes:
        received: images (or image/depth pairs) that arrived.
        malformed: images that could not be decoded.
        waiting_for_camera_info: images dropped before the first camera_info.
        unpaired: images or depth images that never found their partner.
        silent_s: seconds since the last image.
        has_model: a camera_info has arrived.
        last_error: the latest decoding or calibration error.
    """

    received: int
    malformed: int
    waiting_for_camera_info: int
    unpaired: int
    silent_s: float
    has_model: bool
    last_error: str


@dataclass(frozen=True)
class ReceivedFrame:
    """One camera's image and aligned depth as they came (serialized), with the calibration
    they arrived under; :meth:`CameraInput.decode` makes the Frame.

    Attributes:
        camera: camera name.
        stamp_ns: the image's header stamp (camera clock).
        image_raw: the serialized Image or CompressedImage.
        depth_raw: the serialized depth Image, or None for an RGB-only camera.
        model: the camera model of the latest camera_info.
    """

    camera: str
    stamp_ns: int
    image_raw: bytes
    depth_raw: bytes | None
    model: PinholeCamera


class CameraInput:
    """Subscribes one camera and hands each paired, calibrated frame to ``on_frame`` (and every
    serialized image and camera_info, as it came, to ``restamper``)."""

    def __init__(
        self,
        node: Node,
        camera: RigCamera,
        qos: QoSProfile,
        on_frame: Callable[[ReceivedFrame], None],
        restamper: Restamper | None = None,
    ) -> None:
        self.camera = camera
        self._node = node
        self._qos = qos
        self._on_frame = on_frame
        self._restamper = restamper
        self._lock = threading.Lock()
        self._pairing: ExactTimePairing = ExactTimePairing()
        self._model: PinholeCamera | None = None
        self._counts = {"received": 0, "malformed": 0, "waiting_for_camera_info": 0}
        self._last_error = ""
        self._last_image = time.monotonic()
        self._last_frame = -float("inf")
        self._calibration = CalibrationChanges()
        self._image_type = CompressedImage if camera.compressed else Image
        create_subscription(node, self._image_type, camera.image_topic, self._on_image, qos, raw=True)
        create_subscription(node, CameraInfo, camera.info_topic, self._on_camera_info, qos, raw=True)
        if camera.depth_topic:
            create_subscription(node, Image, camera.depth_topic, self._on_depth, qos, raw=True)

    @property
    def model(self) -> PinholeCamera | None:
        """The camera model from the latest camera_info."""
        with self._lock:
            return self._model

    def health(self) -> InputHealth:
        """Counters for the node's diagnostics."""
        with self._lock:
            return InputHealth(**self._counts, unpaired=self._pairing.dropped, silent_s=time.monotonic() - self._last_image,
                               has_model=self._model is not None, last_error=self._last_error)  # fmt: skip

    def qos_mismatch(self) -> str:
        """Why a publisher of one of the camera's topics cannot reach its subscription; "" when
        all can, or when frames came in the last second (then every topic has a matched
        publisher, and the graph queries are saved)."""
        with self._lock:
            if time.monotonic() - self._last_frame < 1.0:
                return ""
        topics = (self.camera.image_topic, self.camera.info_topic, self.camera.depth_topic)
        return next((reason for topic in topics if topic and (reason := qos_mismatch(self._node, topic, self._qos))), "")

    def _on_camera_info(self, raw: bytes) -> None:
        if self._restamper is not None:
            self._restamper.camera_info(raw)
        msg = self._calibration.new_calibration(raw)
        if msg is None:
            return
        try:
            model = pinhole_from_camera_info(msg, self.camera.name, self.camera.world_from_camera)
        except ValueError as error:
            self._record_error(str(error))
            return
        with self._lock:
            first, self._model = self._model is None, model
        if first and (warning := distortion_warning(msg)):
            self._node.get_logger().warning(f"{self.camera.name}: {warning}")

    def _on_image(self, raw: bytes) -> None:
        if self._restamper is not None:
            self._restamper.image(raw)
        with self._lock:
            self._last_image = time.monotonic()
            pair = (raw, None) if not self.camera.depth_topic else self._pairing.add_first(header_stamp_ns(raw), raw)
        if pair is not None:
            self._deliver(*pair)

    def _on_depth(self, raw: bytes) -> None:
        with self._lock:
            pair = self._pairing.add_second(header_stamp_ns(raw), raw)
        if pair is not None:
            self._deliver(*pair)

    def _deliver(self, image_raw: bytes, depth_raw: bytes | None) -> None:
        now = time.monotonic()
        with self._lock:
            model = self._model
            self._counts["received"] += 1
            self._counts["waiting_for_camera_info"] += model is None
            if model is not None:
                self._last_frame = now
        if model is None:
            self._node.get_logger().warning(f"{self.camera.name}: no camera_info yet, dropping frames",
                                            throttle_duration_sec=5.0)  # fmt: skip
            return
        self._on_frame(ReceivedFrame(self.camera.name, header_stamp_ns(image_raw), image_raw, depth_raw, model))

    def decode(self, received: ReceivedFrame) -> Frame | None:
        """The Frame of a frame this input received; None when its image cannot be decoded (then
        counted and logged). Thread-safe: called on the node's worker."""
        image = deserialize_message(received.image_raw, self._image_type)
        depth = None if received.depth_raw is None else deserialize_message(received.depth_raw, Image)
        try:
            return frame_from_msgs(received.camera, image, depth, received.model)
        except ValueError as error:
            with self._lock:
                self._counts["malformed"] += 1
            self._record_error(f"malformed image: {error}")
            return None

    def _record_error(self, message: str) -> None:
        with self._lock:
            self._last_error = message
        self._node.get_logger().warning(f"{self.camera.name}: {message}", throttle_duration_sec=2.0)
