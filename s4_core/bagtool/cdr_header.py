"""Read and rewrite ``header.stamp`` inside serialized CDR messages without deserializing them.

Every message type the bag tool and the nodes re-stamp (Image, CompressedImage, CameraInfo)
starts with a ``std_msgs/Header``, whose stamp is the first eight bytes after the four-byte
encapsulation header: ``int32 sec`` then ``uint32 nanosec``, in the byte order that header
names. Patching those bytes keeps the pixel payload untouched (no copy through Python objects),
which is what makes re-stamping a whole recording, or a live camera, cheap.
"""

from __future__ import annotations

import struct

from s4_core.clock import NS_PER_S

#: Byte offset of ``header.stamp`` in a CDR message whose first field is a std_msgs/Header.
_STAMP_OFFSET = 4

#: Encapsulation identifiers (second byte) of little-endian CDR; anything else is big-endian.
_LITTLE_ENDIAN_IDS = frozenset({0x01, 0x03})


def _stamp_format(raw: bytes | memoryview) -> str:
    if len(raw) < _STAMP_OFFSET + 8:
        raise ValueError(f"CDR message of {len(raw)} bytes is too short to hold a header stamp")
    return "<iI" if raw[1] in _LITTLE_ENDIAN_IDS else ">iI"


def header_stamp_ns(raw: bytes | memoryview) -> int:
    """``header.stamp`` of a serialized message that starts with a std_msgs/Header, nanoseconds."""
    sec, nanosec = struct.unpack_from(_stamp_format(raw), raw, _STAMP_OFFSET)
    return sec * NS_PER_S + nanosec


def with_header_stamp(raw: bytes | memoryview, stamp_ns: int) -> bytes:
    """A copy of a serialized message with ``header.stamp`` set to ``stamp_ns``; all else equal.

    Raises:
        ValueError: the message is too short, or the stamp does not fit ``int32`` seconds.
    """
    sec, nanosec = divmod(int(stamp_ns), NS_PER_S)
    if not -(2**31) <= sec < 2**31:
        raise ValueError(f"stamp {stamp_ns} ns does not fit a builtin_interfaces/Time")
    out = bytearray(raw)
    struct.pack_into(_stamp_format(raw), out, _STAMP_OFFSET, sec, nanosec)
    return bytes(out)


def without_header_stamp(raw: bytes | memoryview) -> bytes:
    """A serialized message with its ``header.stamp`` left out: equal for two messages that
    differ in their stamps only (a driver's camera_info, sent again with every image)."""
    _stamp_format(raw)  # the length check
    return bytes(raw[:_STAMP_OFFSET]) + bytes(raw[_STAMP_OFFSET + 8 :])
