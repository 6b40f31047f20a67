"""Sub-pixel bilinear sampling of image-sized fields at track positions.

Pixel centres sit at integer coordinates (the OpenCV convention used by
:class:`s4_core.camera.PinholeCamera`), so a position is inside the image when
``0 <= u <= W - 1`` and ``0 <= v <= H - 1``; outside that no four neighbours exist and the
sample is reported as missing rather than extrapolated from the border.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BilinearTaps:
    """The four neighbours of each query position and their bilinear weights.

    Attributes:
        values: field values at the neighbours [N, 4, ...] (top-left, top-right, bottom-left,
            bottom-right); garbage where ``inside`` is False.
        weights: bilinear weights [N, 4] summing to one.
        inside: whether the position lies inside the image [N].
    """

    values: np.ndarray
    weights: np.ndarray
    inside: np.ndarray

    def interpolate(self) -> np.ndarray:
        """Weighted sum of the taps [N, ...]; NaN where the position is outside."""
        w = self.weights.reshape(self.weights.shape + (1,) * (self.values.ndim - 2))
        out = np.sum(self.values * w, axis=1)
        out[~self.inside] = np.nan
        return out


def bilinear_taps(field: np.ndarray, uv: np.ndarray) -> BilinearTaps:
    """Gather the four neighbours of each position in ``field``.

    Args:
        field: image-sized array [H, W] or [H, W, C], H and W at least 2.
        uv: positions [N, 2] in pixels (NaN allowed: reported as outside).

    Returns:
        The taps, their weights and an inside mask.
    """
    if uv.ndim != 2 or uv.shape[1] != 2:
        raise ValueError(f"uv must be [N, 2], got {uv.shape}")
    h, w = field.shape[:2]
    u, v = uv[:, 0].astype(np.float64), uv[:, 1].astype(np.float64)
    inside = np.isfinite(u) & np.isfinite(v) & (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
    u = np.where(inside, u, 0.0)
    v = np.where(inside, v, 0.0)
    x0 = np.clip(np.floor(u).astype(np.int64), 0, w - 2)
    y0 = np.clip(np.floor(v).astype(np.int64), 0, h - 2)
    fx, fy = u - x0, v - y0
    values = np.stack(
        [field[y0, x0], field[y0, x0 + 1], field[y0 + 1, x0], field[y0 + 1, x0 + 1]], axis=1
    )
    weights = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
    return BilinearTaps(values=values, weights=weights, inside=inside)


def sample_bilinear(field: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear sample of ``field`` [H, W(, C)] at ``uv`` [N, 2] -> [N(, C)], NaN outside."""
    return bilinear_taps(field, uv).interpolate()
