"""Gaussians bound to the motion scaffold.

A Gaussian's centre at time t is the weighted blend of its k nearest scaffold nodes' positions
at t plus a learned local offset: ``mu(t) = sum_j w_j node_j(t) + offset``. The binding (node
ids, weights) is fixed when the Gaussian is created, from distances at the time it was created,
so the blend is a fixed linear map and cheap to differentiate. Given how the nodes move, only
nodes that move alike are blended (:func:`bind_to_nearest_nodes`). Nodes carry translation only:
rigid rotation of a neighbourhood is approximated by its nodes' differing translations.

Parameters are stored unconstrained (log scales, logit opacities and colours, unnormalized
quaternions) and activated before rendering.
"""

from __future__ import annotations

import torch
from torch import Tensor

from s4_core.splat.adam_state import NamedAdam

PARAM_NAMES = ("offsets", "log_scales", "quats", "opacity_logits", "colour_logits")


class BoundGaussians:
    """Per-Gaussian parameters and their scaffold binding.

    Attributes:
        params: leaf tensors by name: offsets [G, 3] m, log_scales [G, 3], quats [G, 4] wxyz,
            opacity_logits [G], colour_logits [G, 3].
        node_ids: bound scaffold nodes [G, k] int64.
        node_weights: blend weights [G, k], rows sum to 1.
    """

    def __init__(self, params: dict[str, Tensor], node_ids: Tensor, node_weights: Tensor) -> None:
        if set(params) != set(PARAM_NAMES):
            raise ValueError(f"params must be exactly {PARAM_NAMES}")
        self.params = {name: params[name].detach().clone().requires_grad_(True) for name in PARAM_NAMES}
        self.node_ids = node_ids
        self.node_weights = node_weights

    @classmethod
    def initialize(
        cls,
        points: Tensor,  # [G, 3] positions at the binding time
        colours: Tensor,  # [G, 3] in [0, 1]
        node_positions: Tensor,  # [Nn, 3] node positions at the same time
        neighbours: int,
        scale_m: Tensor,  # [G] initial isotropic standard deviation, or [G, 3] along the axes of quats
        opacity: float,
        node_motion: Tensor | None = None,  # [Nn, S, 3] node displacements, see bind_to_nearest_nodes
        motion_tolerance_m: float = 0.0,
        quats: Tensor | None = None,  # [G, 4] wxyz initial orientations (identity when None)
    ) -> "BoundGaussians":
        """Bind points to their nearest nodes; offsets make ``mu`` equal the points exactly."""
        node_ids, node_weights = bind_to_nearest_nodes(points, node_positions, neighbours, node_motion, motion_tolerance_m)
        blend = (node_weights[..., None] * node_positions[node_ids]).sum(1)
        g = points.shape[0]
        eps = 1e-4
        params = {
            "offsets": points - blend,
            "log_scales": torch.log(scale_m if scale_m.dim() == 2 else scale_m[:, None]).expand(g, 3).clone(),
            "quats": (torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=points.dtype) if quats is None else quats).expand(g, 4).clone(),
            "opacity_logits": torch.full((g,), float(torch.logit(torch.tensor(opacity))), dtype=points.dtype),
            "colour_logits": torch.logit(colours.clamp(eps, 1 - eps)),
        }
        return cls(params, node_ids, node_weights)

    @property
    def count(self) -> int:
        return self.node_ids.shape[0]

    def means(self, node_positions: Tensor) -> Tensor:
        """Centres [G, 3] given node positions [Nn, 3] at one time."""
        blend = (self.node_weights[..., None] * node_positions[self.node_ids]).sum(1)
        return blend + self.params["offsets"]

    def scales(self) -> Tensor:
        """Linear standard deviations [G, 3], metres."""
        return torch.exp(self.params["log_scales"])

    def opacities(self) -> Tensor:
        """Opacities [G] in (0, 1)."""
        return torch.sigmoid(self.params["opacity_logits"])

    def colours(self) -> Tensor:
        """RGB [G, 3] in (0, 1)."""
        return torch.sigmoid(self.params["colour_logits"])

    def rebuild(self, keep: Tensor, appended: dict[str, Tensor], appended_ids: Tensor, appended_weights: Tensor, adam: NamedAdam) -> None:
        """Keep Gaussians ``keep`` (indices [K]) and append new ones; Adam moments follow.

        Args:
            keep: indices of the Gaussians that stay.
            appended: new per-Gaussian values by parameter name, each [A, ...].
            appended_ids: bindings of the new Gaussians [A, k].
            appended_weights: blend weights of the new Gaussians [A, k].
            adam: the optimizer holding these parameters.
        """
        num_new = appended_ids.shape[0]
        for name in PARAM_NAMES:
            old = self.params[name]
            new = torch.cat([old.detach()[keep], appended[name].detach()], dim=0).requires_grad_(True)
            adam.replace(name, new, lambda m: torch.cat([m[keep], m.new_zeros((num_new,) + m.shape[1:])], 0))
            self.params[name] = new
        self.node_ids = torch.cat([self.node_ids[keep], appended_ids], dim=0)
        self.node_weights = torch.cat([self.node_weights[keep], appended_weights], dim=0)


def bind_to_nearest_nodes(
    points: Tensor, node_positions: Tensor, neighbours: int, node_motion: Tensor | None = None, tolerance_m: float = 0.0
) -> tuple[Tensor, Tensor]:
    """k nearest nodes [G, k] and Gaussian-kernel weights [G, k] summing to 1.

    The kernel width is each point's distance to its k-th nearest node, so weights fall off
    smoothly across the neighbourhood whatever the local node density.

    With ``node_motion`` (each node's displacement [Nn, S, 3] over the window, relative to now),
    a point blends only nodes that move like its nearest one (within ``tolerance_m`` at every
    time): the floor next to a moving body would otherwise take part of the body's motion. Slots
    with no such node repeat the nearest one at zero weight.
    """
    k = min(neighbours, node_positions.shape[0])
    distances = torch.cdist(points.detach(), node_positions.detach())
    if node_motion is None:
        nearest_d, nearest_ids = torch.topk(distances, k, dim=1, largest=False)
        return nearest_ids, _kernel_weights(nearest_d, torch.ones_like(nearest_d, dtype=torch.bool))
    # k alike nodes are looked for among the 4k nearest (farther ones would barely weigh anyway)
    candidates_d, candidates = torch.topk(distances, min(4 * k, node_positions.shape[0]), dim=1, largest=False)
    motion = node_motion.detach()
    differs_m = (motion[candidates] - motion[candidates[:, :1]]).norm(dim=-1).amax(dim=-1)  # [G, C]
    alike = differs_m <= tolerance_m
    rank = torch.where(alike, torch.arange(candidates.shape[1]), candidates.shape[1])  # alike first, by distance
    order = torch.argsort(rank, dim=1, stable=True)[:, :k]
    used = torch.gather(alike, 1, order)
    ids = torch.where(used, torch.gather(candidates, 1, order), candidates[:, :1])
    return ids, _kernel_weights(torch.gather(candidates_d, 1, order), used)


def _kernel_weights(nearest_d: Tensor, used: Tensor) -> Tensor:
    """Weights [G, k] of the used slots, a Gaussian kernel as wide as the farthest used one."""
    width = torch.clamp(torch.where(used, nearest_d, 0.0).amax(dim=1, keepdim=True), min=1e-6)
    logits = torch.where(used, -0.5 * (nearest_d / width) ** 2, -torch.inf)
    return torch.softmax(logits, dim=1)
