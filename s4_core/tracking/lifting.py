"""Lifting 2D track positions to 3D with a depth image and the camera model.

Depth sensors report missing returns as 0, NaN, inf or (after bad conversions) negative
values; none of those may leak into a 3D position, so every depth read goes through
:func:`valid_depth_mask`. Interpolating depth across an occlusion boundary would invent a
point floating between the foreground and the background, so a sample whose four neighbours
disagree by more than a relative step is rejected instead of averaged.
"""

from __future__ import annotations

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.tracking.sampling import bilinear_taps


def valid_depth_mask(depth_m: np.ndarray) -> np.ndarray:
    """Pixels [H, W] whose depth is a finite positive number."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(depth_m) & (depth_m > 0)


def sample_depth_m(depth_m: np.ndarray, uv: np.ndarray, max_relative_step: float) -> np.ndarray:
    """Depth [N] at sub-pixel positions ``uv`` [N, 2]; NaN where it cannot be trusted.

    A sample is NaN when the position is outside the image, when any of its four neighbours
    is invalid, or when the neighbours differ by more than ``max_relative_step`` times the
    nearest of them (a depth edge).
    """
    taps = bilinear_taps(np.asarray(depth_m, dtype=np.float32), uv)
    values = taps.values.astype(np.float64)
    with np.errstate(invalid="ignore"):
        finite = np.all(np.isfinite(values) & (values > 0), axis=1)
        near, far = np.min(values, axis=1), np.max(values, axis=1)
        smooth = (far - near) <= max_relative_step * near
    depth = np.sum(np.where(np.isfinite(values), values, 0.0) * taps.weights, axis=1)
    return np.where(taps.inside & finite & smooth, depth, np.nan)


def lift_to_world(model: PinholeCamera, uv: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
    """World points [N, 3] of pixels ``uv`` [N, 2] at z-depth ``depth_m`` [N] (NaN propagates)."""
    return model.unproject(uv.astype(np.float64), depth_m)
