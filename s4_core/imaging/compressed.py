"""``sensor_msgs/CompressedImage`` (JPEG/PNG) to arrays and back, as image_transport writes them.

image_transport's ``compressed`` plugin writes formats like ``"rgb8; jpeg compressed bgr8"``:
the original encoding, the codec, and the encoding of the compressed pixels. Older publishers
write just ``"jpeg"`` or ``"png"``. Decoding returns the pixels in the original encoding when
the format names it, so a round trip through compression gives back what was encoded.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from s4_core.imaging.colour import convert_colour
from s4_core.imaging.encodings import COLOUR_ENCODINGS, layout_of

CODECS = ("jpeg", "png")


@dataclass(frozen=True)
class CompressedFormat:
    """A parsed ``CompressedImage.format``.

    Attributes:
        codec: ``"jpeg"`` or ``"png"``.
        encoding: the original encoding, or None when the format does not say.
    """

    codec: str
    encoding: str | None = None

    @classmethod
    def parse(cls, text: str) -> "CompressedFormat":
        """Parse ``"jpeg"``, ``"png"`` or ``"<encoding>; <codec> compressed <encoding>"``.

        Raises:
            ValueError: unknown codec (``compressedDepth`` included) or unsupported encoding.
        """
        original, _, rest = text.partition(";")
        words = (rest if rest else original).split()
        codec = {"jpg": "jpeg"}.get(words[0].lower(), words[0].lower()) if words else ""
        if codec not in CODECS:
            raise ValueError(f"unsupported compressed image format {text!r} (codecs: {', '.join(CODECS)})")
        encoding = original.strip() if rest else None
        if encoding is not None:
            layout_of(encoding)
        return cls(codec, encoding)


@dataclass(frozen=True)
class DecodedImage:
    """Pixels with the encoding they are in.

    Attributes:
        pixels: ``[H, W]`` or ``[H, W, C]`` array.
        encoding: the encoding of ``pixels``.
    """

    pixels: np.ndarray
    encoding: str


def decode_compressed(format: str, data) -> DecodedImage:  # noqa: A002 - the message field's name
    """Decode JPEG/PNG bytes, returning the original encoding's pixels when ``format`` names it.

    Raises:
        ValueError: unsupported format, or bytes OpenCV cannot decode.
    """
    parsed = CompressedFormat.parse(format)
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED) if buffer.size else None
    if image is None:
        raise ValueError(f"cannot decode {buffer.size} bytes as {parsed.codec} (format {format!r})")
    found = _encoding_of_decoded(image, format)
    if parsed.encoding is None or parsed.encoding == found:
        return DecodedImage(image, found)
    return DecodedImage(convert_colour(image, found, parsed.encoding), parsed.encoding)


def encode_compressed(pixels: np.ndarray, encoding: str, codec: str = "jpeg", jpeg_quality: int = 90) -> tuple[str, bytes]:
    """Compress ``pixels`` of ``encoding`` the way image_transport's compressed plugin does.

    JPEG takes 8-bit images (alpha is dropped); PNG also takes ``mono16``.

    Returns:
        The ``format`` string and the compressed bytes.

    Raises:
        ValueError: unknown codec, or an encoding the codec cannot hold (depth, 16-bit JPEG).
    """
    if codec not in CODECS:
        raise ValueError(f"unsupported codec {codec!r} (codecs: {', '.join(CODECS)})")
    target = _compressed_encoding(encoding)
    if codec == "jpeg" and target == "bgra8":
        target = "bgr8"
    if codec == "jpeg" and target not in ("bgr8", "mono8"):
        raise ValueError(f"JPEG cannot hold {encoding!r} images; use PNG")
    converted = pixels if target == encoding else convert_colour(pixels, encoding, target)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if codec == "jpeg" else []
    ok, buffer = cv2.imencode(".jpg" if codec == "jpeg" else ".png", np.ascontiguousarray(converted), params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {encoding} image {pixels.shape} as {codec}")
    return f"{encoding}; {codec} compressed {target}", buffer.tobytes()


def _compressed_encoding(encoding: str) -> str:
    """The encoding of the compressed pixels for an original encoding (OpenCV's BGR order)."""
    if encoding in ("mono8", "mono16"):
        return encoding
    if encoding in ("rgba8", "bgra8"):
        return "bgra8"
    if encoding in COLOUR_ENCODINGS:
        return "bgr8"
    layout_of(encoding)
    raise ValueError(f"{encoding!r} images cannot be compressed as JPEG/PNG (compressedDepth is not supported)")


def _encoding_of_decoded(image: np.ndarray, format: str) -> str:  # noqa: A002
    """The encoding of what ``cv2.imdecode`` returned (grey, BGR or BGRA, 8 or 16 bit)."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    names = {(1, np.uint8): "mono8", (1, np.uint16): "mono16", (3, np.uint8): "bgr8", (4, np.uint8): "bgra8"}
    try:
        return names[(channels, image.dtype.type)]
    except KeyError:
        raise ValueError(f"decoded {format!r} to {channels} channels of {image.dtype}, which s4 does not read") from None
