"""Depth pixels to metres and back: one place that knows 16UC1 is millimetres with 0 invalid."""

from __future__ import annotations

import numpy as np

from s4_core.imaging.encodings import DEPTH_ENCODINGS, layout_of

def to_depth_m(pixels: np.ndarray, encoding: str) -> np.ndarray:
    """``[H, W]`` float32 z-depth in metres, NaN where invalid.

    Invalid are 16UC1 zeros (no return) and, for 32FC1, NaN, +-Inf and values <= 0 (REP 118).

    Raises:
        ValueError: ``encoding`` is not a depth encoding.
    """
    _check_depth_encoding(encoding)
    depth_m = pixels.astype(np.float32) * np.float32(DEPTH_ENCODINGS[encoding])
    with np.errstate(invalid="ignore"):
        depth_m[~(np.isfinite(depth_m) & (depth_m > 0))] = np.nan
    return depth_m


def from_depth_m(depth_m: np.ndarray, encoding: str) -> np.ndarray:
    """Depth pixels of ``encoding`` for metres ``depth_m`` ``[H, W]`` (NaN -> invalid).

    16UC1 rounds to whole millimetres; depths beyond its range (65.535 m) become invalid (0)
    rather than wrapping around.
    """
    _check_depth_encoding(encoding)
    if encoding == "32FC1":
        return np.asarray(depth_m, dtype=np.float32)
    depth_mm = np.rint(np.asarray(depth_m, dtype=np.float64) / DEPTH_ENCODINGS["16UC1"])
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(depth_mm) & (depth_mm > 0) & (depth_mm <= np.iinfo(np.uint16).max)
    return np.where(valid, depth_mm, 0).astype(np.uint16)


def _check_depth_encoding(encoding: str) -> None:
    if encoding not in DEPTH_ENCODINGS:
        layout_of(encoding)  # unsupported names get the codec's standard error
        raise ValueError(f"{encoding!r} is not a depth encoding (use one of {', '.join(DEPTH_ENCODINGS)})")
