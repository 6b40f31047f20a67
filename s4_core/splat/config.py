"""Rasterization hyperparameters shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RasterConfig:
    """How Gaussians become pixels.

    The defaults follow 3DGS except the 8 px tiles (on CPU they evaluate about half the
    (Gaussian, pixel) pairs of 16 px tiles for small Gaussians; the result does not depend on
    the tiling). gsplat differs in ``alpha_max`` (0.999) and in having no
    ``cutoff_sigma`` (its footprint is whatever tiles the 3-sigma square touches).

    Attributes:
        tile_size: tile side in pixels; each tile composites its own depth-sorted list.
        near_m: Gaussians with optical z at or below this are culled, metres.
        far_m: Gaussians with optical z at or beyond this are culled, metres.
        eps2d: dilation added to the 2D covariance diagonal, pixels squared.
        cutoff_sigma: footprint radius in standard deviations. A Gaussian contributes only inside
            this Mahalanobis ellipse, which makes the result independent of the tiling (and so
            checkable against a brute-force compositor); its bounding square picks the tiles.
        alpha_max: per-Gaussian alpha clamp (keeps transmittance, and its log, away from 0).
        alpha_min: alphas below this are skipped (treated as 0).
        transmittance_min: compositing stops before a Gaussian that would bring the
            transmittance to or below this value; that Gaussian is not composited.
        chunk_elements: budget of (tile, Gaussian, pixel) triples evaluated at once; bounds
            peak memory of the tiled compositor without changing its result.
    """

    tile_size: int = 8
    near_m: float = 0.01
    far_m: float = 1e10
    eps2d: float = 0.3
    cutoff_sigma: float = 3.0
    alpha_max: float = 0.99
    alpha_min: float = 1.0 / 255.0
    transmittance_min: float = 1e-4
    chunk_elements: int = 1 << 23

    def __post_init__(self) -> None:
        if self.tile_size <= 0 or self.chunk_elements <= 0:
            raise ValueError("tile_size and chunk_elements must be positive")
        if not 0.0 < self.alpha_max < 1.0:
            raise ValueError(f"alpha_max must lie in (0, 1), got {self.alpha_max}")
        if not 0.0 < self.near_m < self.far_m:
            raise ValueError(f"need 0 < near_m < far_m, got {self.near_m}, {self.far_m}")
