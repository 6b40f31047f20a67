"""Image codec between ROS-style raw/compressed image fields and NumPy arrays (no ROS import).

The fields are those of ``sensor_msgs/Image`` (encoding, height, width, step, is_bigendian,
data) and ``sensor_msgs/CompressedImage`` (format, data), passed as plain values so the live
nodes and the offline bag tool (rosbags messages) share one codec:

- :func:`decode_image` / :func:`encode_image`: raw pixels in the encoding's own layout.
- :func:`decode_compressed` / :func:`encode_compressed`: JPEG/PNG through OpenCV.
- :func:`to_rgb8`: the ``[H, W, 3]`` uint8 RGB that :class:`s4_core.frames.Frame` takes.
- :func:`to_depth_m` / :func:`from_depth_m`: depth pixels to float32 metres (NaN invalid) and back.
"""

from s4_core.imaging.colour import convert_colour, to_rgb8
from s4_core.imaging.compressed import CompressedFormat, DecodedImage, decode_compressed, encode_compressed
from s4_core.imaging.depth import from_depth_m, to_depth_m
from s4_core.imaging.encodings import (
    COLOUR_ENCODINGS,
    DEPTH_ENCODINGS,
    SUPPORTED_ENCODINGS,
    PixelLayout,
    layout_of,
)
from s4_core.imaging.raw import RawImage, decode_image, encode_image

__all__ = [
    "COLOUR_ENCODINGS",
    "DEPTH_ENCODINGS",
    "SUPPORTED_ENCODINGS",
    "CompressedFormat",
    "DecodedImage",
    "PixelLayout",
    "RawImage",
    "convert_colour",
    "decode_compressed",
    "decode_image",
    "encode_compressed",
    "encode_image",
    "from_depth_m",
    "layout_of",
    "to_depth_m",
    "to_rgb8",
]
