"""Per-track quantities derived from pointmaps: query grid, confidence, visibility, descriptors."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def anchor_query_grid(input_size_wh: tuple[int, int], stride_px: int) -> Tensor:
    """Integer query pixels (u, v) [N, 2] on a regular grid of the network input, row-major."""
    width, height = input_size_wh
    us = torch.arange(stride_px // 2, width, stride_px)
    vs = torch.arange(stride_px // 2, height, stride_px)
    grid_v, grid_u = torch.meshgrid(vs, us, indexing="ij")
    return torch.stack((grid_u.flatten(), grid_v.flatten()), dim=-1)


def normalized_confidence(conf: Tensor) -> Tensor:
    """Map DUSt3R confidences (>= 1, unbounded) into [0, 1): ``1 - 1 / conf``."""
    return (1.0 - 1.0 / conf.clamp(min=1.0)).clamp(0.0, 1.0)


def relative_confidence_mask(conf_tracks: Tensor, conf_maps: Tensor, relative: float) -> Tensor:
    """Tracks [T, N] whose confidence reaches ``relative`` times the median of their pair's map.

    A relative threshold adapts to each pair: absolute DUSt3R confidences vary with the scene.

    Args:
        conf_tracks: confidences at the tracks [T, N].
        conf_maps: the full confidence maps [T, H, W].
        relative: fraction of the median.
    """
    medians = conf_maps.flatten(1).median(dim=1).values  # [T]
    return conf_tracks >= relative * medians[:, None]


def appearance_descriptors(anchor_tokens: Tensor, query_uv: Tensor, input_size_wh: tuple[int, int]) -> Tensor:
    """Encoder features bilinearly pooled at the query pixels, unit length [N, C].

    Args:
        anchor_tokens: anchor encoder tokens on the patch grid [h, w, C].
        query_uv: query pixels of the network input [N, 2].
        input_size_wh: network input size, pixels.
    """
    width, height = input_size_wh
    grid = torch.stack(
        ((query_uv[:, 0].float() + 0.5) / width * 2 - 1, (query_uv[:, 1].float() + 0.5) / height * 2 - 1), dim=-1
    )
    feature_map = anchor_tokens.permute(2, 0, 1)[None].float()  # [1, C, h, w]
    pooled = F.grid_sample(feature_map, grid[None, None], mode="bilinear", padding_mode="border", align_corners=False)
    return F.normalize(pooled[0, :, 0].T, dim=-1)


def motion_descriptors(xyz: Tensor, uv: Tensor, image_size_wh: tuple[int, int]) -> Tensor:
    """Scale-free motion statistics per track [N, 3].

    Columns: 3D path length and net 3D displacement, both divided by the median anchor depth
    (each camera's monocular world has its own scale), and 2D path length over the image
    diagonal. Unknown steps (NaN) count as no motion.

    Args:
        xyz: positions [T, N, 3] in the anchor frame.
        uv: pixels [T, N, 2].
        image_size_wh: image size for the diagonal.
    """
    depth_scale = xyz[0, :, 2].nan_to_num(nan=0.0).abs().median().clamp(min=1e-6)
    diagonal = float(torch.tensor(image_size_wh, dtype=torch.float64).norm())
    steps_3d = (xyz[1:] - xyz[:-1]).norm(dim=-1).nan_to_num(nan=0.0)
    net_3d = (xyz[-1] - xyz[0]).norm(dim=-1).nan_to_num(nan=0.0)
    steps_2d = (uv[1:] - uv[:-1]).norm(dim=-1).nan_to_num(nan=0.0)
    return torch.stack((steps_3d.sum(0) / depth_scale, net_3d / depth_scale, steps_2d.sum(0) / diagonal), dim=-1)


def stitch_track_ids(
    previous_uv: Tensor, previous_ids: Tensor, previous_visible: Tensor, new_uv: Tensor, radius_px: float
) -> Tensor:
    """Give new anchor queries the id of the previous track that lands next to them.

    One-to-one and greedy by distance: a previous track continues as the nearest new query
    within ``radius_px`` (both at the new anchor's time, in the same image).

    Args:
        previous_uv: previous tracks at the new anchor's time [M, 2] (NaN allowed).
        previous_ids: their ids [M].
        previous_visible: their visibility then [M].
        new_uv: the new anchor's query pixels [N, 2].
        radius_px: largest distance for a continuation, pixels.

    Returns:
        ids [N] int64, -1 where a query starts a new track.
    """
    ids = torch.full((len(new_uv),), -1, dtype=torch.int64)
    usable = previous_visible & torch.isfinite(previous_uv).all(dim=-1)
    if not usable.any() or len(new_uv) == 0:
        return ids
    distance = torch.cdist(new_uv.double(), previous_uv[usable].double())  # [N, M']
    candidate_ids = previous_ids[usable]
    pairs = (distance <= radius_px).nonzero()
    order = distance[pairs[:, 0], pairs[:, 1]].argsort()
    used_new, used_old = set(), set()
    for new_index, old_index in pairs[order].tolist():
        if new_index not in used_new and old_index not in used_old:
            ids[new_index] = candidate_ids[old_index]
            used_new.add(new_index)
            used_old.add(old_index)
    return ids
