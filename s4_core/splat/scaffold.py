"""Motion scaffold: nodes whose trajectories are cubic B-splines on one sliding time grid.

All nodes share the grid (start time and spacing), so sliding the window is a slice of the
[N, M, 3] control tensor: extrapolated control points are appended at the head as time advances,
and the oldest are retired at the tail to keep M bounded. Times here are seconds relative to the
owning model's time origin (small numbers, so float32 keeps sub-millisecond resolution).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from s4_core.splat import spline

#: Length of each appended control point's step relative to the previous step (see
#: :meth:`MotionScaffold.slide_to_cover`); the total extrapolated travel is bounded by one step.
HEAD_STEP_DECAY = 0.5


@dataclass(frozen=True)
class SlideResult:
    """How a slide changed the control grid (so optimizer moments can follow).

    Attributes:
        added_head: control points appended at the head.
        retired_tail: control points dropped at the tail.
    """

    added_head: int
    retired_tail: int

    def remap(self, x: Tensor, head_values: Tensor | None = None) -> Tensor:
        """Apply the same slide to a per-control-point tensor [N, M, ...] (zeros at the head)."""
        kept = x[:, self.retired_tail :]
        if head_values is None:
            head_values = x.new_zeros((x.shape[0], self.added_head) + x.shape[2:])
        return torch.cat([kept, head_values], dim=1)


class MotionScaffold:
    """Scaffold node trajectories; ``control`` is a leaf tensor the model optimizes.

    Attributes:
        control: control points [N, M, 3], metres (requires grad).
        grid_start_s: time of control point 0, seconds (model-relative).
        dt_s: control-point spacing, seconds.
        max_control_points: bound on M; the tail is retired beyond it.
    """

    def __init__(self, control: Tensor, grid_start_s: float, dt_s: float, max_control_points: int) -> None:
        if control.ndim != 3 or control.shape[2] != 3 or control.shape[1] < 4:
            raise ValueError(f"control must be [N, M >= 4, 3], got {tuple(control.shape)}")
        if max_control_points < 4 or dt_s <= 0:
            raise ValueError("need max_control_points >= 4 and dt_s > 0")
        self.control = control.detach().clone().requires_grad_(True)
        self.grid_start_s = float(grid_start_s)
        self.dt_s = float(dt_s)
        self.max_control_points = max_control_points

    @classmethod
    def fit(
        cls,
        times_s: Tensor,  # [T] model-relative seconds
        xyz: Tensor,  # [T, N, 3]
        weights: Tensor,  # [T, N], 0 where missing
        dt_s: float,
        max_control_points: int,
    ) -> "MotionScaffold":
        """Least-squares fit of every node's samples on a grid supporting ``[t_min, t_max]``."""
        t_min, t_max = float(times_s.min()), float(times_s.max())
        supported = max(1, math.ceil((t_max - t_min) / dt_s - 1e-9))
        num_control = supported + 3
        if num_control > max_control_points:
            raise ValueError(f"samples span {num_control} control points, more than {max_control_points}")
        grid_start_s = t_min - dt_s
        control = spline.fit_least_squares((times_s - grid_start_s) / dt_s, xyz, weights, num_control)
        return cls(control, grid_start_s, dt_s, max_control_points)

    @property
    def num_nodes(self) -> int:
        return self.control.shape[0]

    @property
    def num_control_points(self) -> int:
        return self.control.shape[1]

    @property
    def supported_interval_s(self) -> tuple[float, float]:
        """Times on which every segment has its four control points."""
        return self.grid_start_s + self.dt_s, self.grid_start_s + (self.num_control_points - 2) * self.dt_s

    def grid_time(self, t_s: Tensor) -> Tensor:
        """Times [S] (model-relative seconds, differentiable) in grid units."""
        return (t_s - self.grid_start_s) / self.dt_s

    def positions(self, t_s: Tensor) -> Tensor:
        """Node positions [N, S, 3] at times [S]."""
        return spline.evaluate(self.control, self.grid_time(t_s))

    def displacements(self, t_s: float, count: int) -> Tensor:
        """Node displacements [N, count, 3] at ``count`` times spread over the supported
        interval, relative to the nodes' positions at ``t_s``: how each node moves."""
        start, end = self.supported_interval_s
        times = torch.cat([torch.linspace(start, end, count), torch.tensor([t_s], dtype=torch.float32)])
        positions = self.positions(times).detach()
        return positions[:, :-1] - positions[:, -1:]

    def velocities(self, t_s: Tensor) -> Tensor:
        """Node velocities [N, S, 3], metres per second, at times [S]."""
        return spline.evaluate(self.control, self.grid_time(t_s), derivative=1) / self.dt_s

    def slide_to_cover(self, t_s: float) -> SlideResult:
        """Append control points until ``t_s`` is supported, then retire the tail beyond the cap.

        New control points continue the last step, each with ``HEAD_STEP_DECAY`` times the
        previous one's length: a moving node starts the new segment at its velocity (what the
        optimizer refines), and a node no frame constrains comes to rest within about one step
        instead of drifting forever. With constant-velocity continuation, any velocity the
        optimizer left on a node persisted: over a 60-s stream (the splat bench's memory scene)
        the Gaussians ended 130-240 m from a 7 m room; with the decay, within 7.2 m.
        ``control`` becomes a new leaf.
        """
        end_s = self.supported_interval_s[1]
        added = max(0, math.ceil((t_s - end_s) / self.dt_s - 1e-9))
        retired = max(0, self.num_control_points + added - self.max_control_points)
        result = SlideResult(added_head=added, retired_tail=retired)
        if added == 0 and retired == 0:
            return result
        with torch.no_grad():
            c = self.control
            step = c[:, -1] - c[:, -2]
            reach = torch.cumsum(HEAD_STEP_DECAY ** torch.arange(1, added + 1, dtype=c.dtype), dim=0)
            head = c[:, -1:] + step[:, None] * reach[None, :, None]
            self.control = result.remap(c, head).requires_grad_(True)
        self.grid_start_s += retired * self.dt_s
        return result
