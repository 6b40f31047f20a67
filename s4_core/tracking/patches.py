"""Small grey patches around track points, and their zero-mean normalized correlation.

Used to catch a track that slid off its point: at an occluding edge the motion estimate of a
point mixes the occluder's motion with the background's, and the point can be pushed along
onto other background texture with a perfectly consistent forward-backward round trip and an
unchanged depth. Its patch then no longer looks like the patch it started from. Zero-mean
normalized correlation ignores gain and offset changes of the image.
"""

from __future__ import annotations

import cv2
import numpy as np


def sample_patches(gray: np.ndarray, uv: np.ndarray, radius_px: int) -> np.ndarray:
    """Bilinearly sampled square patches [N, (2r+1)^2] of ``gray`` [H, W] around ``uv`` [N, 2].

    Samples falling outside the image are NaN. ``cv2.remap`` does the sampling (1/32 px weight
    resolution, plenty for a correlation check, and ~10x faster than gathering in NumPy).
    """
    if len(uv) == 0:
        return np.zeros((0, (2 * radius_px + 1) ** 2), np.float32)
    offsets = np.arange(-radius_px, radius_px + 1, dtype=np.float32)
    uv = uv.astype(np.float32)
    map_u = uv[:, :1] + np.tile(offsets, len(offsets))  # [N, P], row-major over the patch
    map_v = uv[:, 1:] + np.repeat(offsets, len(offsets))
    return cv2.remap(
        gray.astype(np.float32), map_u, map_v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan")
    )


def zero_mean_ncc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Zero-mean normalized cross-correlation [N] of patch rows ``a``, ``b`` [N, P] (NaN if flat)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt(np.sum(a * a, axis=1) * np.sum(b * b, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(a * b, axis=1) / denom
