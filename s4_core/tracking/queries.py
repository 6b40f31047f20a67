"""Where tracks start: a regular grid kept only where the image has texture.

Flow is only trustworthy where the image constrains it in both directions (the aperture
problem), which is what the smaller eigenvalue of the local structure tensor measures. A grid
rather than corner detection keeps the tracks spread over the whole image, which the
cross-camera matcher needs for its distance structure.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class QueryConfig:
    """How query points are seeded at an anchor frame.

    Attributes:
        grid_step_px: spacing of the grid, pixels.
        border_px: distance kept from the image border, pixels (flow is poor there).
        window_px: side of the window over which the structure tensor is averaged, pixels.
        min_texture: smallest accepted eigenvalue of the mean structure tensor of the grey
            image scaled to [0, 1], in (intensity / px)^2. The default 1e-4 asks for a gradient
            of at least ~2.5 grey levels per pixel in the weakest direction, about the size of
            the noise of a typical sensor.
    """

    grid_step_px: int = 8
    border_px: int = 4
    window_px: int = 5
    min_texture: float = 1e-4

    def __post_init__(self) -> None:
        if self.grid_step_px < 1 or self.border_px < 0 or self.window_px < 1:
            raise ValueError(f"invalid query grid {self}")


def texture_strength(gray: np.ndarray, window_px: int) -> np.ndarray:
    """Smaller eigenvalue of the window-averaged structure tensor [H, W] of a uint8 image."""
    img = gray.astype(np.float32) / 255.0
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3, scale=1.0 / 8.0)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3, scale=1.0 / 8.0)
    size = (window_px, window_px)
    xx, yy, xy = cv2.blur(gx * gx, size), cv2.blur(gy * gy, size), cv2.blur(gx * gy, size)
    half_trace = 0.5 * (xx + yy)
    return half_trace - np.sqrt(np.maximum(0.25 * (xx - yy) ** 2 + xy**2, 0.0))


def grid_points(size_hw: tuple[int, int], config: QueryConfig) -> np.ndarray:
    """All grid positions [N, 2] (u, v) of an image of the given size, border excluded."""
    h, w = size_hw
    us = np.arange(config.border_px, w - config.border_px, config.grid_step_px)
    vs = np.arange(config.border_px, h - config.border_px, config.grid_step_px)
    uu, vv = np.meshgrid(us, vs)
    return np.stack([uu.ravel(), vv.ravel()], axis=1).astype(np.float32)


def select_query_points(gray: np.ndarray, config: QueryConfig, usable: np.ndarray | None = None) -> np.ndarray:
    """Textured grid points of an anchor image.

    Args:
        gray: anchor image [H, W] uint8.
        config: grid and texture settings.
        usable: optional mask [H, W] of pixels allowed to start a track (e.g. valid depth).

    Returns:
        Query positions [N, 2] float32 in pixels, row-major grid order (deterministic).
    """
    if gray.ndim != 2:
        raise ValueError(f"gray must be [H, W], got {gray.shape}")
    uv = grid_points(gray.shape, config)
    cols, rows = uv[:, 0].astype(np.int64), uv[:, 1].astype(np.int64)
    keep = texture_strength(gray, config.window_px)[rows, cols] >= config.min_texture
    if usable is not None:
        if usable.shape != gray.shape:
            raise ValueError(f"usable mask {usable.shape} does not match image {gray.shape}")
        keep &= usable[rows, cols]
    return uv[keep]
