"""Raw (uncompressed) image bytes to arrays and back, honouring row padding and byte order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s4_core.imaging.encodings import PixelLayout, layout_of


@dataclass(frozen=True)
class RawImage:
    """The fields of a ``sensor_msgs/Image`` apart from its header.

    Attributes:
        encoding: encoding name, e.g. ``"rgb8"``.
        height: rows.
        width: columns.
        step: bytes per row, padding included.
        is_bigendian: byte order of multi-byte values.
        data: ``step * height`` bytes.
    """

    encoding: str
    height: int
    width: int
    step: int
    is_bigendian: bool
    data: bytes


def decode_image(encoding: str, height: int, width: int, step: int, is_bigendian: bool, data) -> np.ndarray:
    """Pixels of a raw image in the encoding's own layout and native byte order.

    Args:
        encoding: one of :data:`~s4_core.imaging.encodings.SUPPORTED_ENCODINGS`.
        height: rows.
        width: columns.
        step: bytes per row; rows may be padded beyond ``width * bytes_per_pixel``.
        is_bigendian: byte order of 16/32-bit values.
        data: anything exposing the buffer protocol (bytes, ``array.array`` from rclpy, memoryview).

    Returns:
        ``[H, W]`` for one channel, ``[H, W, C]`` otherwise; a read-only view of ``data`` when no
        copy is needed (no padding, native byte order).

    Raises:
        ValueError: unsupported encoding, ``step`` shorter than a row, or a data length that is
            not ``step * height``.
    """
    layout = layout_of(encoding)
    row_bytes = width * layout.bytes_per_pixel
    if height < 0 or width < 0 or step < row_bytes:
        raise ValueError(f"{encoding} image {width}x{height}: step {step} is shorter than a row ({row_bytes} bytes)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size != step * height:
        raise ValueError(
            f"{encoding} image {width}x{height} with step {step} needs {step * height} bytes, got {buffer.size}"
        )
    rows = buffer.reshape(height, step)[:, :row_bytes]
    wire_dtype = layout.dtype.newbyteorder(">" if is_bigendian else "<")
    pixels = np.ascontiguousarray(rows).view(wire_dtype).reshape(layout.shape(height, width))
    return pixels.astype(layout.dtype, copy=False)


def encode_image(pixels: np.ndarray, encoding: str, step: int | None = None) -> RawImage:
    """A raw little-endian image of ``pixels`` in ``encoding``.

    Args:
        pixels: ``[H, W]`` or ``[H, W, 1]`` for one channel, ``[H, W, C]`` otherwise, of the
            encoding's dtype (no silent casts: a float image for ``rgb8`` is a bug upstream).
        encoding: target encoding; the pixels must already be in its channel order.
        step: bytes per row; larger than a row pads each row with zeros (None: no padding).

    Raises:
        ValueError: unsupported encoding, wrong shape or dtype, or ``step`` shorter than a row.
    """
    layout = layout_of(encoding)
    pixels = _checked_pixels(pixels, encoding, layout)
    height, width = pixels.shape[:2]
    row_bytes = width * layout.bytes_per_pixel
    step = row_bytes if step is None else int(step)
    if step < row_bytes:
        raise ValueError(f"step {step} is shorter than a {encoding} row of {width} pixels ({row_bytes} bytes)")
    little = pixels.astype(layout.dtype.newbyteorder("<"), copy=False).reshape(height, row_bytes // layout.dtype.itemsize)
    if step == row_bytes:
        data = little.tobytes()
    else:
        padded = np.zeros((height, step), dtype=np.uint8)
        padded[:, :row_bytes] = little.view(np.uint8).reshape(height, row_bytes)
        data = padded.tobytes()
    return RawImage(encoding, int(height), int(width), step, False, data)


def _checked_pixels(pixels: np.ndarray, encoding: str, layout: PixelLayout) -> np.ndarray:
    if pixels.dtype != layout.dtype:
        raise ValueError(f"{encoding} needs {layout.dtype} pixels, got {pixels.dtype}")
    if layout.channels == 1 and pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    expected_ndim = 2 if layout.channels == 1 else 3
    if pixels.ndim != expected_ndim or (expected_ndim == 3 and pixels.shape[2] != layout.channels):
        wanted = "[H, W]" if layout.channels == 1 else f"[H, W, {layout.channels}]"
        raise ValueError(f"{encoding} needs pixels of shape {wanted}, got {pixels.shape}")
    return pixels
