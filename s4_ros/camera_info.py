"""``sensor_msgs/CameraInfo`` <-> :class:`~s4_core.camera.PinholeCamera`.

s4's camera model has no distortion: images must be rectified (or nearly distortion-free).
Non-zero distortion coefficients are therefore reported, never silently dropped.
"""

from __future__ import annotations

import numpy as np
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header

from s4_core.bagtool.cdr_header import without_header_stamp
from s4_core.camera import PinholeCamera


def pinhole_from_camera_info(msg: CameraInfo, name: str, world_from_camera: np.ndarray | None = None) -> PinholeCamera:
    """The camera model of a CameraInfo (K and image size; extrinsics from the rig, if any).

    Raises:
        ValueError: K is all zeros (an uncalibrated camera) or the size is not positive.
    """
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if not np.any(K):
        raise ValueError(f"camera_info of {name} has no intrinsics (K is all zeros: uncalibrated camera)")
    return PinholeCamera(
        name=name,
        width=int(msg.width),
        height=int(msg.height),
        K=K,
        world_from_camera=np.eye(4) if world_from_camera is None else np.asarray(world_from_camera, dtype=np.float64),
    )


class CalibrationChanges:
    """Which of a camera's serialized camera_info messages bring a calibration it has not seen.

    Drivers send camera_info with every image. rclpy's conversion of one to Python cost the
    all-in-one node more than the conversion of the image itself (about 120 a second on a
    4-camera rig), and all but the first carry the same calibration under a new stamp.
    """

    def __init__(self) -> None:
        self._last: bytes | None = None

    def new_calibration(self, raw: bytes) -> CameraInfo | None:
        """The message when it differs from the previous one in more than its stamp, else None."""
        unstamped = without_header_stamp(raw)
        if unstamped == self._last:
            return None
        self._last = unstamped
        return deserialize_message(raw, CameraInfo)


def distortion_warning(msg: CameraInfo) -> str | None:
    """Why the distortion of this CameraInfo will be ignored, or None when there is none."""
    coefficients = np.asarray(msg.d, dtype=np.float64)
    if not np.any(coefficients):
        return None
    model = msg.distortion_model or "unnamed"
    largest = float(np.max(np.abs(coefficients)))
    if model == "plumb_bob":
        return f"plumb_bob distortion (largest coefficient {largest:.3g}) is ignored: feed rectified images"
    return f"distortion model {model!r} is not supported and is ignored (largest coefficient {largest:.3g})"


def camera_info_msg(camera: PinholeCamera, header: Header) -> CameraInfo:
    """A CameraInfo of a distortion-free camera: K, identity R, P = [K | 0]."""
    projection = np.zeros((3, 4))
    projection[:, :3] = camera.K
    return CameraInfo(
        header=header,
        width=camera.width,
        height=camera.height,
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=camera.K.astype(float).ravel().tolist(),
        r=np.eye(3).ravel().tolist(),
        p=projection.ravel().tolist(),
    )
