"""Tile/Gaussian intersection lists: which Gaussians each tile must composite, front to back.

Pure index bookkeeping (no gradients), the CPU counterpart of gsplat's ``isect_tiles`` and
``isect_offset_encode``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class TileGrid:
    """Image cut into square tiles, row-major.

    Attributes:
        tile_size: tile side, pixels.
        tiles_x: number of tile columns.
        tiles_y: number of tile rows.
    """

    tile_size: int
    tiles_x: int
    tiles_y: int

    @classmethod
    def covering(cls, width: int, height: int, tile_size: int) -> "TileGrid":
        """The smallest grid covering a ``width`` x ``height`` image."""
        return cls(tile_size, -(-width // tile_size), -(-height // tile_size))

    @property
    def num_tiles(self) -> int:
        return self.tiles_x * self.tiles_y


@dataclass(frozen=True)
class TileIntersections:
    """Depth-sorted Gaussian lists per tile, stored flat.

    Attributes:
        gaussian_ids: Gaussian index per intersection [I] int64, grouped by tile, each group
            sorted front to back.
        tile_starts: first intersection of each tile [num_tiles] int64.
        tile_counts: number of intersections of each tile [num_tiles] int64.
    """

    gaussian_ids: Tensor
    tile_starts: Tensor
    tile_counts: Tensor


def intersect_tiles(
    means2d: Tensor,  # [N, 2] pixels
    radii: Tensor,  # [N] int64, 0 = culled
    depths: Tensor,  # [N]
    grid: TileGrid,
) -> TileIntersections:
    """List, for every tile, the Gaussians whose bounding square overlaps it, sorted by depth."""
    means2d, depths = means2d.detach(), depths.detach()
    ids = torch.nonzero(radii > 0).squeeze(1)
    r = radii[ids].to(means2d.dtype)
    u, v = means2d[ids, 0], means2d[ids, 1]
    ts = grid.tile_size
    x0 = torch.clamp(torch.floor((u - r) / ts), 0, grid.tiles_x - 1).to(torch.int64)
    x1 = torch.clamp(torch.floor((u + r) / ts), 0, grid.tiles_x - 1).to(torch.int64)
    y0 = torch.clamp(torch.floor((v - r) / ts), 0, grid.tiles_y - 1).to(torch.int64)
    y1 = torch.clamp(torch.floor((v + r) / ts), 0, grid.tiles_y - 1).to(torch.int64)
    span_x = x1 - x0 + 1
    counts = span_x * (y1 - y0 + 1)
    owner = torch.repeat_interleave(torch.arange(len(ids), device=ids.device), counts)
    first = torch.cumsum(counts, 0) - counts
    local = torch.arange(len(owner), device=ids.device) - first[owner]
    tile_ids = (y0[owner] + local // span_x[owner]) * grid.tiles_x + x0[owner] + local % span_x[owner]
    depth_rank = torch.empty_like(ids)
    depth_rank[torch.argsort(depths[ids], stable=True)] = torch.arange(len(ids), device=ids.device)
    order = torch.argsort(tile_ids * max(len(ids), 1) + depth_rank[owner])
    tile_counts = torch.bincount(tile_ids, minlength=grid.num_tiles)
    return TileIntersections(
        gaussian_ids=ids[owner[order]],
        tile_starts=torch.cumsum(tile_counts, 0) - tile_counts,
        tile_counts=tile_counts,
    )
