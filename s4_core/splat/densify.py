"""Adaptive density control (3DGS): clone/split by view-space gradient, prune, bounded count."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from s4_core.splat.adam_state import NamedAdam
from s4_core.splat.bound_gaussians import PARAM_NAMES, BoundGaussians
from s4_core.splat.projection import quat_to_rotmat


@dataclass(frozen=True)
class DensifyConfig:
    """When Gaussians multiply or die.

    Attributes:
        grad_threshold: mean view-space positional gradient (NDC-scaled like 3DGS/gsplat:
            pixel gradient times half the image size) above which a Gaussian is densified.
        split_scale_m: Gaussians larger than this (max axis) are split in two, smaller ones cloned.
        split_shrink: scale divisor of split children (3DGS: 1.6).
        min_opacity: Gaussians below this opacity are pruned.
        max_scale_m: Gaussians larger than this (max axis) are pruned.
        max_gaussians: hard cap on the count; the largest gradients win the remaining budget.
    """

    grad_threshold: float = 2e-4
    split_scale_m: float = 0.05
    split_shrink: float = 1.6
    min_opacity: float = 0.005
    max_scale_m: float = 0.5
    max_gaussians: int = 20000


class GradientAccumulator:
    """Running mean of each Gaussian's view-space gradient norm over the renders it appeared in."""

    def __init__(self, count: int) -> None:
        self.grad_sum = torch.zeros(count)
        self.views = torch.zeros(count)

    def add(self, means2d_grad: Tensor, radii: Tensor, width: int, height: int) -> None:
        """Accumulate one render's gradient [G, 2] (pixels) for the visible Gaussians."""
        scaled = means2d_grad.detach() * torch.tensor([width / 2.0, height / 2.0], dtype=means2d_grad.dtype)
        visible = radii > 0
        self.grad_sum += torch.where(visible, scaled.norm(dim=-1), torch.zeros(())).float()
        self.views += visible.float()

    def mean(self) -> Tensor:
        return self.grad_sum / torch.clamp(self.views, min=1.0)


def densify_and_prune(
    gaussians: BoundGaussians, grads: GradientAccumulator, adam: NamedAdam, config: DensifyConfig, generator: torch.Generator
) -> tuple[int, int, int]:
    """One density-control round. Returns (cloned, split, pruned) counts."""
    mean_grad = grads.mean()
    max_scale = gaussians.scales().detach().max(dim=1).values
    survive = (gaussians.opacities().detach() >= config.min_opacity) & (max_scale <= config.max_scale_m)
    budget = max(0, config.max_gaussians - int(survive.sum()))
    candidates = torch.nonzero(survive & (mean_grad >= config.grad_threshold)).squeeze(1)
    candidates = candidates[torch.argsort(mean_grad[candidates], descending=True)][:budget]
    to_split = candidates[max_scale[candidates] > config.split_scale_m]
    to_clone = candidates[max_scale[candidates] <= config.split_scale_m]
    keep_mask = survive.clone()
    keep_mask[to_split] = False
    children = _split_children(gaussians, to_split, config.split_shrink, generator)
    clones = {name: gaussians.params[name].detach()[to_clone] for name in PARAM_NAMES}
    appended = {name: torch.cat([clones[name], children[name]], 0) for name in PARAM_NAMES}
    sources = torch.cat([to_clone, to_split, to_split])
    gaussians.rebuild(
        torch.nonzero(keep_mask).squeeze(1), appended, gaussians.node_ids[sources], gaussians.node_weights[sources], adam
    )
    return len(to_clone), len(to_split), int((~survive).sum())


def _split_children(gaussians: BoundGaussians, ids: Tensor, shrink: float, generator: torch.Generator) -> dict[str, Tensor]:
    """Two children per parent [2 * len(ids)], offsets drawn from the parent's own Gaussian."""
    p = {name: gaussians.params[name].detach()[ids] for name in PARAM_NAMES}
    scales = torch.exp(p["log_scales"])
    rotation = quat_to_rotmat(p["quats"])
    draws = torch.randn((2,) + scales.shape, generator=generator, dtype=scales.dtype)
    shift = torch.einsum("nij,knj->kni", rotation, draws * scales)  # [2, n, 3]
    children = {name: p[name].repeat((2,) + (1,) * (p[name].ndim - 1)) for name in PARAM_NAMES}
    children["offsets"] = (p["offsets"][None] + shift).reshape(-1, 3)
    children["log_scales"] = children["log_scales"] - math.log(shrink)
    return children
