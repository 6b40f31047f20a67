"""The image codec against rosbags-image (an independent decoder) on rosbags-serialized messages."""

from __future__ import annotations

import numpy as np
import pytest
from rosbags.image import compressed_image_to_cvimage, image_to_cvimage
from rosbags.typesys import Stores, get_typestore

from s4_core.imaging import (
    SUPPORTED_ENCODINGS,
    CompressedFormat,
    decode_compressed,
    decode_image,
    encode_compressed,
    encode_image,
    from_depth_m,
    layout_of,
    to_depth_m,
    to_rgb8,
)

TYPESTORE = get_typestore(Stores.ROS2_KILTED)
H, W = 12, 17  # odd width: row sizes that are not multiples of 4


def _pixels(encoding: str, rng: np.random.Generator) -> np.ndarray:
    layout = layout_of(encoding)
    shape = layout.shape(H, W)
    if layout.dtype == np.float32:
        return rng.uniform(0.2, 9.0, shape).astype(np.float32)
    return rng.integers(0, np.iinfo(layout.dtype).max, shape, endpoint=True).astype(layout.dtype)


def _rosbags_message(msg_type: str, **fields):
    """A message as the bag tool sees it: built, CDR-serialized and deserialized by rosbags."""
    cls = TYPESTORE.types[msg_type]
    header = TYPESTORE.types["std_msgs/msg/Header"](
        stamp=TYPESTORE.types["builtin_interfaces/msg/Time"](sec=1, nanosec=2), frame_id="cam"
    )
    raw = TYPESTORE.serialize_cdr(cls(header=header, **fields), msg_type)
    return TYPESTORE.deserialize_cdr(raw, msg_type)


def _rosbags_image(raw) -> object:
    return _rosbags_message(
        "sensor_msgs/msg/Image", height=raw.height, width=raw.width, encoding=raw.encoding,
        is_bigendian=int(raw.is_bigendian), step=raw.step, data=np.frombuffer(raw.data, np.uint8),
    )


def _decode(msg) -> np.ndarray:
    return decode_image(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian), msg.data)


@pytest.mark.parametrize("encoding", list(SUPPORTED_ENCODINGS))
def test_decode_matches_rosbags_image(encoding, rng):
    pixels = _pixels(encoding, rng)
    msg = _rosbags_image(encode_image(pixels, encoding))
    ours = _decode(msg)
    assert ours.dtype == pixels.dtype and ours.shape == pixels.shape
    np.testing.assert_array_equal(ours, image_to_cvimage(msg))
    np.testing.assert_array_equal(ours, pixels)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16"])
def test_to_rgb8_matches_rosbags_image(encoding, rng):
    msg = _rosbags_image(encode_image(_pixels(encoding, rng), encoding))
    rgb = to_rgb8(_decode(msg), encoding)
    assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint8
    expected = image_to_cvimage(msg, "mono8" if encoding == "mono16" else "rgb8")
    if encoding == "mono16":  # rosbags scales by 255/65535 and truncates; we take the high byte
        expected = np.repeat(expected[..., None], 3, axis=2)
        assert np.abs(rgb.astype(int) - expected).max() <= 1
    else:
        np.testing.assert_array_equal(rgb, expected)


@pytest.mark.parametrize("encoding", list(SUPPORTED_ENCODINGS))
def test_padded_rows_decode_like_unpadded(encoding, rng):
    pixels = _pixels(encoding, rng)
    plain = encode_image(pixels, encoding)
    padded = encode_image(pixels, encoding, step=plain.step + 7)
    assert len(padded.data) == (plain.step + 7) * H
    np.testing.assert_array_equal(_decode(_rosbags_image(padded)), image_to_cvimage(_rosbags_image(plain)))


@pytest.mark.parametrize("encoding", ["mono16", "16UC1", "32FC1"])
def test_big_endian_matches_rosbags_image(encoding, rng):
    pixels = _pixels(encoding, rng)
    plain = encode_image(pixels, encoding)
    swapped = pixels.astype(pixels.dtype.newbyteorder(">")).tobytes()
    msg = _rosbags_message(
        "sensor_msgs/msg/Image", height=H, width=W, encoding=encoding, is_bigendian=1,
        step=plain.step, data=np.frombuffer(swapped, np.uint8),
    )
    np.testing.assert_array_equal(_decode(msg), image_to_cvimage(msg))
    np.testing.assert_array_equal(_decode(msg), pixels)


@pytest.mark.parametrize(("encoding", "codec"), [("rgb8", "png"), ("bgr8", "png"), ("rgb8", "jpeg"), ("bgr8", "jpeg")])
def test_compressed_matches_rosbags_image(encoding, codec, rng):
    pixels = _pixels(encoding, rng)
    fmt, data = encode_compressed(pixels, encoding, codec)
    msg = _rosbags_message("sensor_msgs/msg/CompressedImage", format=fmt, data=np.frombuffer(data, np.uint8))
    decoded = decode_compressed(msg.format, msg.data)
    assert decoded.encoding == encoding
    np.testing.assert_array_equal(decoded.pixels, compressed_image_to_cvimage(msg, encoding))


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16"])
def test_png_round_trip_is_lossless(encoding, rng):
    """rosbags-image decodes with IMREAD_ANYCOLOR (no alpha, no grey): checked by round trip."""
    pixels = _pixels(encoding, rng)
    decoded = decode_compressed(*encode_compressed(pixels, encoding, "png"))
    assert decoded.encoding == encoding
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_jpeg_of_rgba_drops_alpha_and_restores_it_opaque(rng):
    smooth = np.zeros((H, W, 4), np.uint8)
    smooth[..., :3], smooth[..., 3] = (40, 120, 200), 17
    fmt, data = encode_compressed(smooth, "rgba8", "jpeg")
    assert fmt == "rgba8; jpeg compressed bgr8"
    decoded = decode_compressed(fmt, data)
    assert decoded.encoding == "rgba8"
    assert np.abs(decoded.pixels[..., :3].astype(int) - smooth[..., :3]).max() <= 3
    assert np.all(decoded.pixels[..., 3] == 255)


def test_plain_format_decodes_as_opencv_bgr(rng):
    pixels = _pixels("bgr8", rng)
    _, data = encode_compressed(pixels, "bgr8", "png")
    decoded = decode_compressed("png", data)
    assert decoded.encoding == "bgr8"
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_16uc1_depth_is_metres_with_nan_for_zero():
    mm = np.array([[0, 1000, 1234], [65535, 1, 0]], np.uint16)
    depth_m = to_depth_m(decode_image("16UC1", 2, 3, 6, False, mm.tobytes()), "16UC1")
    assert depth_m.dtype == np.float32
    np.testing.assert_allclose(depth_m, [[np.nan, 1.0, 1.234], [65.535, 0.001, np.nan]], rtol=1e-6)
    np.testing.assert_array_equal(from_depth_m(depth_m, "16UC1"), mm)


def test_32fc1_depth_marks_non_positive_and_non_finite_invalid():
    raw = np.array([[1.5, 0.0, -1.0, np.inf, np.nan]], np.float32)
    depth_m = to_depth_m(raw, "32FC1")
    np.testing.assert_array_equal(np.isnan(depth_m), [[False, True, True, True, True]])
    assert depth_m[0, 0] == np.float32(1.5)


def test_16uc1_out_of_range_becomes_invalid_not_wrapped():
    np.testing.assert_array_equal(from_depth_m(np.array([[70.0, np.nan, 2.0]]), "16UC1"), [[0, 0, 2000]])


def test_wrong_data_length_names_sizes():
    with pytest.raises(ValueError, match=r"needs 153 bytes, got 150"):
        decode_image("rgb8", 3, 17, 51, False, bytes(150))


def test_step_shorter_than_row_is_rejected():
    with pytest.raises(ValueError, match="step 50 is shorter than a row"):
        decode_image("rgb8", 3, 17, 50, False, bytes(150))


@pytest.mark.parametrize("call", [
    lambda: decode_image("yuv422", 2, 2, 8, False, bytes(16)),
    lambda: encode_image(np.zeros((2, 2, 2), np.uint8), "yuv422"),
    lambda: to_rgb8(np.zeros((2, 2, 2), np.uint8), "yuv422"),
])
def test_unsupported_encoding_is_named(call):
    with pytest.raises(ValueError, match="unsupported image encoding 'yuv422'"):
        call()


def test_depth_is_not_colour():
    with pytest.raises(ValueError, match="'16UC1' is a depth encoding"):
        to_rgb8(np.zeros((2, 2), np.uint16), "16UC1")


def test_encode_refuses_silent_casts():
    with pytest.raises(ValueError, match="rgb8 needs uint8 pixels, got float64"):
        encode_image(np.zeros((2, 2, 3)), "rgb8")
    with pytest.raises(ValueError, match=r"rgb8 needs pixels of shape \[H, W, 3\]"):
        encode_image(np.zeros((2, 2), np.uint8), "rgb8")


@pytest.mark.parametrize("text", ["compressedDepth", "rgb8; tiff compressed bgr8", "", "16UC1; compressedDepth png"])
def test_unsupported_compressed_formats(text):
    with pytest.raises(ValueError, match="unsupported compressed image format"):
        CompressedFormat.parse(text)


def test_undecodable_bytes_are_a_value_error():
    with pytest.raises(ValueError, match="cannot decode 4 bytes as jpeg"):
        decode_compressed("rgb8; jpeg compressed bgr8", b"\x00\x01\x02\x03")
