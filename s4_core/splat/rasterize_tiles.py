"""Tile-based front-to-back alpha compositing in plain PyTorch (the fast CPU path).

Each tile evaluates its depth-sorted Gaussians against its pixels as one dense [K, P] block, and
tiles are batched: busy tiles are ordered by list length and cut into chunks, so padding every
list to its chunk's longest stays small. Transmittance is an exclusive cumulative sum of
``log(1 - alpha)``; this equals the sequential loop of the CUDA kernels (and of
:mod:`s4_core.splat.reference`) including the early stop, because transmittance only decreases:
the stopping test ``T_next <= transmittance_min`` fails on a prefix of the list and holds after.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from s4_core.splat.config import RasterConfig
from s4_core.splat.projection import ProjectedGaussians, gaussian_weight_exponent
from s4_core.splat.tiles import TileGrid, TileIntersections, intersect_tiles


def composite_tiles(
    projected: ProjectedGaussians,
    opacities: Tensor,  # [N] in [0, 1]
    features: Tensor,  # [N, F] composited per pixel (colour, depth, ...)
    width: int,
    height: int,
    config: RasterConfig,
) -> tuple[Tensor, Tensor]:
    """Alpha-composite per-Gaussian features front to back, tile by tile.

    Returns:
        accumulated features [H, W, F] (no background) and accumulated alpha [H, W].
    """
    grid = TileGrid.covering(width, height, config.tile_size)
    isect = intersect_tiles(projected.means2d, projected.radii, projected.depths, grid)
    pad = _append_transparent_dummy(projected, opacities, features)
    pixels = grid.tile_size**2
    chunks = _chunk_busy_tiles(isect.tile_counts, pixels, config.chunk_elements)
    num_channels = features.shape[1] + 1
    tiles = features.new_zeros(grid.num_tiles, pixels, num_channels)
    if chunks:
        values = torch.cat([_composite_chunk(c, isect, pad, grid, config) for c in chunks], dim=0)
        tiles = torch.index_copy(tiles, 0, torch.cat(chunks), values)
    image = _untile(tiles, grid)[:height, :width]
    return image[..., :-1], image[..., -1]


def _append_transparent_dummy(
    projected: ProjectedGaussians, opacities: Tensor, features: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(means2d, conics, opacities, features) with a zero-opacity Gaussian at index N for padding."""

    def pad(x: Tensor) -> Tensor:
        return torch.cat([x, x.new_zeros((1,) + x.shape[1:])], dim=0)

    return pad(projected.means2d), pad(projected.conics), pad(opacities), pad(features)


#: A chunk holds only tiles whose lists are at least this fraction of its longest, so padding
#: wastes at most 1 / PAD_RATIO - 1 of the work (one chunk for a small image padded every tile
#: to the busiest one, 3x the work on a 160x120 room scene).
PAD_RATIO = 0.7


def _chunk_busy_tiles(counts: Tensor, pixels: int, budget: int) -> list[Tensor]:
    """Busy tiles, longest list first, cut into chunks of at most ``budget`` (tile, K, pixel)
    triples and of similar list lengths (see :data:`PAD_RATIO`)."""
    order = torch.argsort(counts, descending=True, stable=True)
    sorted_counts = counts[order]
    busy = int((sorted_counts > 0).sum())
    similar_end = torch.searchsorted(-sorted_counts, -PAD_RATIO * sorted_counts, side="right")
    chunks, start = [], 0
    while start < busy:
        longest = int(sorted_counts[start])
        size = max(1, min(busy, int(similar_end[start])) - start)
        size = max(1, min(size, budget // max(longest * pixels, 1)))
        chunks.append(order[start : start + size])
        start += size
    return chunks


def _composite_chunk(
    tiles: Tensor,  # [B] tile ids
    isect: TileIntersections,
    pad: tuple[Tensor, Tensor, Tensor, Tensor],
    grid: TileGrid,
    config: RasterConfig,
) -> Tensor:
    """Composited features and alpha [B, P, F + 1] of a chunk of tiles."""
    means2d, conics, opacities, features = pad
    dummy = means2d.shape[0] - 1
    counts = isect.tile_counts[tiles]
    slots = torch.arange(int(counts.max()), device=counts.device)
    in_list = slots[None, :] < counts[:, None]  # [B, K]
    flat = torch.clamp(isect.tile_starts[tiles, None] + slots[None, :], max=max(len(isect.gaussian_ids) - 1, 0))
    gids = torch.where(in_list, isect.gaussian_ids[flat], dummy)  # [B, K]
    px, py = _tile_pixel_centres(tiles, grid, means2d.dtype)  # [B, P]
    dx = px[:, None, :] - means2d[gids, 0][:, :, None]  # [B, K, P]
    dy = py[:, None, :] - means2d[gids, 1][:, :, None]
    sigma = gaussian_weight_exponent(conics[gids][:, :, None, :], dx, dy)
    alpha = torch.clamp(opacities[gids][:, :, None] * torch.exp(-sigma), max=config.alpha_max)
    inside = (sigma >= 0) & (sigma <= 0.5 * config.cutoff_sigma**2) & (alpha >= config.alpha_min)
    alpha = torch.where(inside, alpha, torch.zeros_like(alpha))
    weights = front_to_back_weights(alpha, config)  # [B, K, P]
    accumulated = torch.einsum("bkp,bkf->bpf", weights, features[gids])
    return torch.cat([accumulated, weights.sum(1)[..., None]], dim=-1)


def front_to_back_weights(alpha: Tensor, config: RasterConfig) -> Tensor:
    """Blending weights ``alpha_k T_k`` [..., K, P] with the early stop, for alphas sorted along K.

    ``T_k`` is the transmittance in front of Gaussian k; weights are zero from the first Gaussian
    whose own ``T_{k+1}`` would fall to ``transmittance_min`` or below.
    """
    log_t_after = torch.cumsum(torch.log1p(-alpha), dim=-2)
    log_t_before = log_t_after - torch.log1p(-alpha)
    keep = log_t_after > math.log(config.transmittance_min)
    return torch.where(keep, alpha * torch.exp(log_t_before), torch.zeros_like(alpha))


def _tile_pixel_centres(tiles: Tensor, grid: TileGrid, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates (u, v) [B, P] of the given tiles, row-major inside each tile."""
    ts = grid.tile_size
    local = torch.arange(ts * ts, device=tiles.device)
    u = (tiles % grid.tiles_x)[:, None] * ts + (local % ts)[None, :]
    v = (tiles // grid.tiles_x)[:, None] * ts + (local // ts)[None, :]
    return u.to(dtype), v.to(dtype)


def _untile(tiles: Tensor, grid: TileGrid) -> Tensor:
    """[num_tiles, P, C] tiles to a [tiles_y * ts, tiles_x * ts, C] image."""
    ts = grid.tile_size
    blocks = tiles.reshape(grid.tiles_y, grid.tiles_x, ts, ts, -1)
    return blocks.permute(0, 2, 1, 3, 4).reshape(grid.tiles_y * ts, grid.tiles_x * ts, -1)
