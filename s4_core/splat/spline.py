"""Uniform cubic B-spline trajectories on a sliding grid of control points.

Why B-splines (not Catmull-Rom): they are C2, so velocity (which turns a clock offset into a
photometric gradient) and acceleration are continuous; they are linear in their control points,
so fitting samples is a linear least-squares solve; and each point depends on four control
points only, so adding one at the head or dropping one at the tail leaves every other segment
unchanged. They reproduce polynomials up to degree 3 exactly (linear motion in particular), but
approximate rather than interpolate their control points.

Control point ``i`` sits at time ``i * dt_s`` (relative to the grid start); a time in
``[i dt, (i + 1) dt)`` uses control points ``i - 1 .. i + 2``. The curve is fully supported on
``[dt, (M - 2) dt]``; outside it the end segments' cubics extrapolate smoothly.
"""

from __future__ import annotations

import torch
from torch import Tensor

_BASIS = torch.tensor(
    [[1.0, 4.0, 1.0, 0.0], [-3.0, 0.0, 3.0, 0.0], [3.0, -6.0, 3.0, 0.0], [-1.0, 3.0, -3.0, 1.0]],
    dtype=torch.float64,
) / 6.0  # rows: coefficients of 1, u, u^2, u^3; columns: control points i-1 .. i+2


def num_supported_segments(num_control: int) -> int:
    """Segments with all four control points present (``M - 3``)."""
    return max(num_control - 3, 0)


def basis_weights(t_grid: Tensor, num_control: int, derivative: int = 0) -> tuple[Tensor, Tensor]:
    """Control-point weights of the curve (or its derivative w.r.t. grid units) at times ``t_grid``.

    Args:
        t_grid: times in grid units (seconds / dt) [S]; differentiable.
        num_control: number of control points M (at least 4).
        derivative: 0 for position, 1 for d/dt_grid, 2 for d^2/dt_grid^2.

    Returns:
        first control index [S] int64 and weights [S, 4] for control points ``first .. first+3``.
    """
    if num_control < 4:
        raise ValueError(f"a cubic B-spline needs at least 4 control points, got {num_control}")
    segment = torch.clamp(torch.floor(t_grid.detach()), 1, num_control - 3).to(torch.int64)
    u = t_grid - segment.to(t_grid.dtype)
    ones, zeros = torch.ones_like(u), torch.zeros_like(u)
    powers = {
        0: [ones, u, u * u, u * u * u],
        1: [zeros, ones, 2 * u, 3 * u * u],
        2: [zeros, zeros, 2 * ones, 6 * u],
    }[derivative]
    weights = torch.stack(powers, dim=-1) @ _BASIS.to(t_grid.dtype)
    return segment - 1, weights


def evaluate(control: Tensor, t_grid: Tensor, derivative: int = 0) -> Tensor:
    """Curves (or derivatives w.r.t. grid units) at times ``t_grid``.

    Args:
        control: control points [N, M, D].
        t_grid: times in grid units [S].
        derivative: 0, 1 or 2.

    Returns:
        values [N, S, D].
    """
    first, weights = basis_weights(t_grid, control.shape[1], derivative)
    index = first[:, None] + torch.arange(4)  # [S, 4]
    return torch.einsum("nskd,sk->nsd", control[:, index], weights)


def design_matrix(t_grid: Tensor, num_control: int) -> Tensor:
    """Dense [S, M] matrix mapping control points to curve values at ``t_grid``."""
    first, weights = basis_weights(t_grid, num_control)
    A = torch.zeros(len(t_grid), num_control, dtype=t_grid.dtype)
    A.scatter_(1, first[:, None] + torch.arange(4), weights)
    return A


def fit_least_squares(
    t_grid: Tensor,  # [T] grid units
    values: Tensor,  # [T, N, D]
    weights: Tensor,  # [T, N], 0 where a sample is missing
    num_control: int,
    smoothness: float = 1e-3,
) -> Tensor:
    """Control points [N, M, D] whose curves best fit the samples of each of N series.

    Minimizes ``sum_t w_tn |p_n(t) - x_tn|^2 + smoothness * |second differences of c_n|^2``; the
    small smoothness term makes control points no sample constrains well defined (it favours
    constant velocity there) without biasing the fit to linear motion, which it leaves exact.
    """
    A = design_matrix(t_grid, num_control)  # [T, M]
    values = torch.nan_to_num(values) * (weights > 0)[..., None]
    D2 = torch.diff(torch.eye(num_control, dtype=A.dtype), n=2, dim=0)  # [M-2, M]
    ridge = 1e-9 * torch.eye(num_control, dtype=A.dtype)  # series with < 2 samples stay solvable
    normal = torch.einsum("tn,tm,tk->nmk", weights, A, A) + smoothness * (D2.T @ D2) + ridge
    rhs = torch.einsum("tn,tm,tnd->nmd", weights, A, values)
    return torch.linalg.solve(normal, rhs)
