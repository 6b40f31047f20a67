"""Deserialized image messages to the arrays a :class:`~s4_core.frames.Frame` holds.

A thin adapter from rosbags message objects to the shared codec in :mod:`s4_core.imaging`, so the
bag tool and the live nodes decode pixels identically.
"""

from __future__ import annotations

import numpy as np

from s4_core.bagtool.discovery import COMPRESSED_IMAGE_TYPE
from s4_core.imaging import decode_compressed, decode_image, to_depth_m, to_rgb8


def rgb_of(message: object, msgtype: str) -> np.ndarray:
    """``[H, W, 3]`` uint8 RGB of an Image or CompressedImage message.

    Raises:
        ValueError: unsupported encoding or format, or bytes that do not decode.
    """
    if msgtype == COMPRESSED_IMAGE_TYPE:
        decoded = decode_compressed(message.format, message.data)
        return to_rgb8(decoded.pixels, decoded.encoding)
    return to_rgb8(_raw_pixels(message), message.encoding)


def depth_m_of(message: object) -> np.ndarray:
    """``[H, W]`` float32 metres (NaN invalid) of a 16UC1 or 32FC1 Image message.

    Raises:
        ValueError: not a depth encoding, or malformed data.
    """
    return to_depth_m(_raw_pixels(message), message.encoding)


def _raw_pixels(message: object) -> np.ndarray:
    return decode_image(
        message.encoding, message.height, message.width, message.step, bool(message.is_bigendian), message.data
    )
