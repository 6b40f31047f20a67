"""Conversions between the 8-bit colour encodings, and to the RGB that s4 frames hold."""

from __future__ import annotations

import cv2
import numpy as np

from s4_core.imaging.encodings import COLOUR_ENCODINGS, DEPTH_ENCODINGS, layout_of

#: OpenCV's name for the channel order of each colour encoding.
_CV_NAMES = {"rgb8": "RGB", "bgr8": "BGR", "rgba8": "RGBA", "bgra8": "BGRA", "mono8": "GRAY"}


def convert_colour(pixels: np.ndarray, src_encoding: str, dst_encoding: str) -> np.ndarray:
    """``pixels`` of ``src_encoding`` in ``dst_encoding``, both 8-bit colour/grey or mono16.

    ``mono16`` is reduced to 8 bits by its high byte first (a linear scale, as image viewers do).
    An added alpha channel is opaque (255).

    Raises:
        ValueError: either encoding is not a colour encoding (depth cannot become colour).
    """
    if src_encoding == "mono16":
        pixels, src_encoding = (np.asarray(pixels, dtype=np.uint16) >> 8).astype(np.uint8), "mono8"
    for encoding in (src_encoding, dst_encoding):
        if encoding not in COLOUR_ENCODINGS:
            kind = "a depth encoding" if encoding in DEPTH_ENCODINGS else "not an 8-bit colour encoding"
            layout_of(encoding)  # unsupported names get the codec's standard error
            raise ValueError(f"cannot convert colour {src_encoding!r} -> {dst_encoding!r}: {encoding!r} is {kind}")
    if src_encoding == dst_encoding:
        return pixels
    code = getattr(cv2, f"COLOR_{_CV_NAMES[src_encoding]}2{_CV_NAMES[dst_encoding]}")
    return cv2.cvtColor(np.ascontiguousarray(pixels), code)


def to_rgb8(pixels: np.ndarray, encoding: str) -> np.ndarray:
    """``[H, W, 3]`` uint8 RGB of a colour or mono image (mono replicated to three channels).

    Raises:
        ValueError: for depth encodings and unsupported ones, naming the encoding.
    """
    return convert_colour(pixels, encoding, "rgb8")

