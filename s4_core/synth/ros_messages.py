"""ROS 2 messages of a synthetic recording, built with the ``rosbags`` typestore (pure Python).

``rosbags`` is not ROS: it serializes CDR itself, with type hashes that match rclpy's for the
Kilted store, so bags written here play back and deserialize in real ROS 2.
"""

from __future__ import annotations

import numpy as np
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore
from scipy.spatial.transform import Rotation

from s4_core.camera import PinholeCamera
from s4_core.clock import NS_PER_S

#: The message definitions (and hashes) the bags are written with.
TYPESTORE: Typestore = get_typestore(Stores.ROS2_KILTED)

IMAGE_TYPE = "sensor_msgs/msg/Image"
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"
TF_MESSAGE_TYPE = "tf2_msgs/msg/TFMessage"

#: Name of the fixed frame the camera extrinsics are given in.
WORLD_FRAME = "world"


def optical_frame(camera_name: str) -> str:
    """TF frame of a camera's optical frame (x right, y down, z forward)."""
    return f"{camera_name}_optical_frame"


def rgb_image(rgb: np.ndarray, stamp_ns: int, frame_id: str) -> object:
    """``sensor_msgs/Image`` rgb8 of an image [H, W, 3] uint8."""
    height, width, _ = rgb.shape
    return _image(np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1), "rgb8", width, height, 3 * width, stamp_ns, frame_id)


def depth_image(depth_m: np.ndarray, stamp_ns: int, frame_id: str) -> object:
    """``sensor_msgs/Image`` 32FC1 (little-endian metres) of a depth image [H, W]."""
    height, width = depth_m.shape
    data = np.ascontiguousarray(depth_m, dtype="<f4").view(np.uint8).reshape(-1)
    return _image(data, "32FC1", width, height, 4 * width, stamp_ns, frame_id)


def camera_info(camera: PinholeCamera, stamp_ns: int) -> object:
    """``sensor_msgs/CameraInfo``: plumb_bob with zero distortion, identity rectification."""
    types = TYPESTORE.types
    projection = np.concatenate([camera.K, np.zeros((3, 1))], axis=1)
    return types[CAMERA_INFO_TYPE](
        header=_header(stamp_ns, optical_frame(camera.name)),
        height=camera.height,
        width=camera.width,
        distortion_model="plumb_bob",
        d=np.zeros(5),
        k=np.asarray(camera.K, dtype=np.float64).reshape(-1),
        r=np.eye(3).reshape(-1),
        p=projection.reshape(-1),
        binning_x=0,
        binning_y=0,
        roi=types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )


def static_transforms(cameras: list[PinholeCamera], stamp_ns: int) -> object:
    """``tf2_msgs/TFMessage`` with ``world -> <cam>_optical_frame`` for every camera."""
    types = TYPESTORE.types
    transforms = []
    for camera in cameras:
        x, y, z, w = Rotation.from_matrix(camera.world_from_camera[:3, :3]).as_quat()
        tx, ty, tz = (float(v) for v in camera.world_from_camera[:3, 3])
        transform = types["geometry_msgs/msg/Transform"](
            translation=types["geometry_msgs/msg/Vector3"](x=tx, y=ty, z=tz),
            rotation=types["geometry_msgs/msg/Quaternion"](x=float(x), y=float(y), z=float(z), w=float(w)),
        )
        transforms.append(
            types["geometry_msgs/msg/TransformStamped"](
                header=_header(stamp_ns, WORLD_FRAME), child_frame_id=optical_frame(camera.name), transform=transform
            )
        )
    return types[TF_MESSAGE_TYPE](transforms=transforms)


def serialize(message: object, msgtype: str) -> bytes:
    """CDR bytes of a message, as rosbag2 stores them."""
    return bytes(TYPESTORE.serialize_cdr(message, msgtype))


def _image(data: np.ndarray, encoding: str, width: int, height: int, step: int, stamp_ns: int, frame_id: str) -> object:
    return TYPESTORE.types[IMAGE_TYPE](
        header=_header(stamp_ns, frame_id),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=step,
        data=data,
    )


def _header(stamp_ns: int, frame_id: str) -> object:
    types = TYPESTORE.types
    sec, nanosec = divmod(int(stamp_ns), NS_PER_S)
    return types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec), frame_id=frame_id)
