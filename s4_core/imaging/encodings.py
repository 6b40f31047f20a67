"""The image encodings s4 reads and writes, and how their pixels are laid out in memory.

Names follow ``sensor_msgs/image_encodings.hpp``. Depth comes as ``16UC1`` (millimetres, 0 for
no return, as OpenNI/RealSense drivers publish) or ``32FC1`` (metres, REP 118).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PixelLayout:
    """Memory layout of one encoding.

    Attributes:
        channels: values per pixel.
        dtype: NumPy type of one value, native byte order.
    """

    channels: int
    dtype: np.dtype

    @property
    def bytes_per_pixel(self) -> int:
        return self.channels * self.dtype.itemsize

    def shape(self, height: int, width: int) -> tuple[int, ...]:
        """Array shape of an image: ``[H, W]`` for one channel, ``[H, W, C]`` otherwise."""
        return (height, width) if self.channels == 1 else (height, width, self.channels)


_U8, _U16, _F32 = np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32)

#: 8-bit colour and grey encodings, convertible into each other with OpenCV.
COLOUR_ENCODINGS: dict[str, PixelLayout] = {
    "rgb8": PixelLayout(3, _U8),
    "bgr8": PixelLayout(3, _U8),
    "rgba8": PixelLayout(4, _U8),
    "bgra8": PixelLayout(4, _U8),
    "mono8": PixelLayout(1, _U8),
}

#: Depth encodings and the metres one unit stands for.
DEPTH_ENCODINGS: dict[str, float] = {"16UC1": 1e-3, "32FC1": 1.0}

SUPPORTED_ENCODINGS: dict[str, PixelLayout] = {
    **COLOUR_ENCODINGS,
    "mono16": PixelLayout(1, _U16),
    "16UC1": PixelLayout(1, _U16),
    "32FC1": PixelLayout(1, _F32),
}


def layout_of(encoding: str) -> PixelLayout:
    """The layout of ``encoding``.

    Raises:
        ValueError: naming the encoding and the supported ones, when it is not supported.
    """
    try:
        return SUPPORTED_ENCODINGS[encoding]
    except KeyError:
        supported = ", ".join(SUPPORTED_ENCODINGS)
        raise ValueError(f"unsupported image encoding {encoding!r} (supported: {supported})") from None
