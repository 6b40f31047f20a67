"""``sensor_msgs/Image`` and ``CompressedImage`` <-> NumPy and :class:`~s4_core.frames.Frame`.

All pixel work is in :mod:`s4_core.imaging`; this module only moves message fields. Arrays go
into messages with ``tobytes()`` (a plain list assignment is ~80x slower).
"""

from __future__ import annotations

import numpy as np
from rclpy.time import Time
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from s4_core.camera import PinholeCamera
from s4_core.frames import Frame
from s4_core.imaging import (
    DecodedImage,
    decode_compressed,
    decode_image,
    encode_compressed,
    encode_image,
    to_depth_m,
    to_rgb8,
)


def decode_image_msg(msg: Image | CompressedImage) -> DecodedImage:
    """Pixels of either image message, with their encoding.

    Raises:
        ValueError: unsupported encoding/format, or malformed data (wrong length, bad bytes).
    """
    if isinstance(msg, CompressedImage):
        return decode_compressed(msg.format, msg.data)
    pixels = decode_image(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian), msg.data)
    return DecodedImage(pixels, msg.encoding)


def image_msg(pixels: np.ndarray, encoding: str, header: Header, step: int | None = None) -> Image:
    """An Image message of ``pixels`` already in ``encoding``'s layout."""
    raw = encode_image(pixels, encoding, step)
    return Image(
        header=header, height=raw.height, width=raw.width, encoding=raw.encoding,
        is_bigendian=int(raw.is_bigendian), step=raw.step, data=raw.data,
    )  # fmt: skip


def compressed_image_msg(pixels: np.ndarray, encoding: str, header: Header, codec: str = "jpeg") -> CompressedImage:
    """A CompressedImage message of ``pixels`` in ``encoding``."""
    fmt, data = encode_compressed(pixels, encoding, codec)
    return CompressedImage(header=header, format=fmt, data=data)


def stamp_ns(header: Header) -> int:
    """The header stamp in integer nanoseconds."""
    return Time.from_msg(header.stamp).nanoseconds


def depth_m_from_msg(depth: Image) -> np.ndarray:
    """Metric depth [H, W] of a depth Image (16UC1 millimetres or 32FC1 metres).

    Raises:
        ValueError: malformed data or an encoding that is not depth.
    """
    return to_depth_m(decode_image_msg(depth).pixels, depth.encoding)


def frame_from_msgs(
    camera: str, image: Image | CompressedImage, depth: Image | None = None, model: PinholeCamera | None = None
) -> Frame:
    """A core Frame from an image message (stamp from its header) and an optional aligned depth.

    Raises:
        ValueError: malformed image or depth, a non-colour image, or depth of another size.
    """
    decoded = decode_image_msg(image)
    depth_m = depth_m_from_msg(depth) if depth is not None else None
    rgb = to_rgb8(decoded.pixels, decoded.encoding)
    return Frame(camera=camera, stamp_ns=stamp_ns(image.header), rgb=rgb, depth_m=depth_m, model=model)
