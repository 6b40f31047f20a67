"""Brute-force reference compositor: every pixel against every Gaussian, in depth order.

Written as the sequential loop of the 3DGS CUDA kernel, only vectorized over pixels, so it reads
like the definition. It is slow (one pass per Gaussian) and exists to check
:func:`s4_core.splat.rasterize_tiles.composite_tiles` in values and gradients.
"""

from __future__ import annotations

import torch
from torch import Tensor

from s4_core.splat.config import RasterConfig
from s4_core.splat.projection import ProjectedGaussians, gaussian_weight_exponent


def composite_brute_force(
    projected: ProjectedGaussians,
    opacities: Tensor,  # [N] in [0, 1]
    features: Tensor,  # [N, F]
    width: int,
    height: int,
    config: RasterConfig,
) -> tuple[Tensor, Tensor]:
    """Same contract as :func:`composite_tiles`: features [H, W, F] and alpha [H, W]."""
    v, u = torch.meshgrid(
        torch.arange(height, dtype=features.dtype), torch.arange(width, dtype=features.dtype), indexing="ij"
    )
    transmittance = torch.ones(height, width, dtype=features.dtype)
    done = torch.zeros(height, width, dtype=torch.bool)
    accumulated = features.new_zeros(height, width, features.shape[1])
    for g in torch.argsort(projected.depths.detach(), stable=True).tolist():
        if projected.radii[g] <= 0:
            continue
        dx = u - projected.means2d[g, 0]
        dy = v - projected.means2d[g, 1]
        sigma = gaussian_weight_exponent(projected.conics[g], dx, dy)
        alpha = torch.clamp(opacities[g] * torch.exp(-sigma), max=config.alpha_max)
        used = ~done & (sigma >= 0) & (sigma <= 0.5 * config.cutoff_sigma**2) & (alpha >= config.alpha_min)
        next_transmittance = transmittance * (1 - alpha)
        stops = used & (next_transmittance <= config.transmittance_min)
        done = done | stops
        used = used & ~stops
        weight = torch.where(used, alpha * transmittance, torch.zeros_like(alpha))
        accumulated = accumulated + weight[..., None] * features[g]
        transmittance = torch.where(used, next_transmittance, transmittance)
    return accumulated, 1 - transmittance
