"""Which tracks become scaffold nodes.

A Gaussian moves with the blend of its nearest nodes, so the scaffold needs nodes where motion
*differs*, not where points are. Spreading the nodes evenly in space (farthest-point sampling)
puts nearly all of them on the static room, which is most of every real and synthetic scene: on
the splat bench's scene 7 of 256 nodes landed on the moving bodies, one or two per body. A
rotating body then moves as a blend of one or two translations, and its texture blurs.

:func:`motion_aware_sample` keeps half the budget (by default) for spatial coverage and spends the
rest where the scaffold represents the tracks' motion worst: greedily, the track whose
displacement the blend of its current nearest nodes misses most becomes the next node. On a
static scene (no error above the tolerance) it falls back to coverage, which makes it plain
farthest-point sampling.
"""

from __future__ import annotations

import torch
from torch import Tensor

from s4_core.splat.bound_gaussians import bind_to_nearest_nodes


def farthest_point_sample(points: Tensor, count: int) -> Tensor:  # points [N, 3]
    """Indices [min(count, N)] spread over the point set (deterministic, starts at point 0)."""
    n = points.shape[0]
    if count >= n:
        return torch.arange(n)
    chosen = torch.zeros(count, dtype=torch.int64)
    distance = torch.full((n,), float("inf"))
    for i in range(1, count):
        distance = torch.minimum(distance, (points - points[chosen[i - 1]]).norm(dim=1))
        chosen[i] = torch.argmax(distance)
    return chosen


def motion_aware_sample(
    trajectories: Tensor,  # [N, S, 3] positions at S times; the last one is when nodes bind
    count: int,
    neighbours: int,
    coverage_share: float,
    tolerance_m: float,
) -> Tensor:
    """Indices [min(count, N)] of node tracks: coverage first, then the worst-represented motion.

    Args:
        trajectories: every candidate track's positions at the same times, metres.
        count: number of nodes wanted.
        neighbours: nodes blended per point (as :func:`bind_to_nearest_nodes` binds Gaussians).
        coverage_share: fraction of ``count`` chosen by farthest-point sampling first.
        tolerance_m: a track whose blended displacement is off by no more than this at every
            time counts as represented; once all are, the remaining nodes go to coverage.
    """
    n = trajectories.shape[0]
    if count >= n:
        return torch.arange(n)
    points = trajectories[:, -1]
    displacement = trajectories - points[:, None]  # [N, S, 3], zero at the binding time
    chosen = farthest_point_sample(points, max(1, min(count, round(coverage_share * count)))).tolist()
    distance = torch.cdist(points, points[chosen]).min(dim=1).values
    while len(chosen) < count:
        ids, weights = bind_to_nearest_nodes(points, points[chosen], neighbours)
        blended = (weights[..., None, None] * displacement[chosen][ids]).sum(dim=1)
        error_m = (displacement - blended).norm(dim=-1).max(dim=1).values
        error_m[chosen] = -1.0
        worst = int(torch.argmax(error_m))
        pick = worst if float(error_m[worst]) > tolerance_m else int(torch.argmax(distance))
        chosen.append(pick)
        distance = torch.minimum(distance, (points - points[pick]).norm(dim=1))
    return torch.tensor(chosen, dtype=torch.int64)
