"""B-spline trajectories and the sliding scaffold: known answers."""

from __future__ import annotations

import numpy as np
import torch

from s4_core.splat import spline
from s4_core.splat.scaffold import MotionScaffold

torch.set_num_threads(1)  # tiny tensors: threads only add contention


def _linear_control(num_nodes: int, num_control: int, dt_s: float, start_s: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    a = torch.randn(num_nodes, 3, dtype=torch.float64)
    v = torch.randn(num_nodes, 3, dtype=torch.float64)
    t_knots = start_s + dt_s * torch.arange(num_control, dtype=torch.float64)
    return a[:, None] + v[:, None] * t_knots[None, :, None], a, v


def test_linear_control_points_give_exact_linear_motion_and_velocity() -> None:
    dt, start = 0.1, -0.1
    control, a, v = _linear_control(5, 9, dt, start)
    scaffold = MotionScaffold(control, grid_start_s=start, dt_s=dt, max_control_points=20)
    t = torch.linspace(*scaffold.supported_interval_s, 37, dtype=torch.float64)
    expected = a[:, None] + v[:, None] * t[None, :, None]
    torch.testing.assert_close(scaffold.positions(t), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(scaffold.velocities(t), v[:, None].expand_as(expected), rtol=0, atol=1e-10)


def test_curve_is_c2_continuous_at_knots() -> None:
    control = torch.randn(3, 8, 3, dtype=torch.float64)
    knots = torch.arange(2.0, 6.0, dtype=torch.float64)  # interior knots
    for derivative in (0, 1, 2):
        left = spline.evaluate(control, knots - 1e-9, derivative)
        right = spline.evaluate(control, knots + 1e-9, derivative)
        torch.testing.assert_close(left, right, rtol=0, atol=1e-6)


def test_least_squares_fit_reproduces_cubic_and_approximates_sine() -> None:
    t = torch.linspace(0.0, 1.0, 41, dtype=torch.float64)
    cubic = (1 + 2 * t - 3 * t**2 + 0.5 * t**3)[:, None, None].expand(41, 1, 3)
    dt = 0.125
    grid = (t + dt) / dt  # grid starts one spacing before the data
    control = spline.fit_least_squares(grid, cubic, torch.ones(41, 1, dtype=torch.float64), num_control=11, smoothness=0.0)
    torch.testing.assert_close(spline.evaluate(control, grid), cubic.permute(1, 0, 2), rtol=0, atol=1e-7)  # 1e-9 ridge
    sine = torch.sin(2 * torch.pi * t)[:, None, None].expand(41, 1, 3)
    control = spline.fit_least_squares(grid, sine, torch.ones(41, 1, dtype=torch.float64), num_control=11)
    assert float((spline.evaluate(control, grid) - sine.permute(1, 0, 2)).abs().max()) < 0.02


def test_fit_ignores_missing_samples() -> None:
    t = torch.linspace(0.0, 1.0, 21)
    line = torch.stack([t, 2 * t, -t], dim=-1)[:, None, :].repeat(1, 2, 1)
    weights = torch.ones(21, 2)
    weights[5:12, 1] = 0.0
    line[5:12, 1] = float("nan")
    scaffold = MotionScaffold.fit(t, line, weights, dt_s=0.2, max_control_points=16)
    fitted = scaffold.positions(t)
    truth = torch.stack([t, 2 * t, -t], dim=-1)
    for node in range(2):
        torch.testing.assert_close(fitted[node], truth, rtol=0, atol=1e-4)


def test_sliding_keeps_old_segments_continues_the_motion_and_bounds_size() -> None:
    dt, start = 0.1, -0.1
    control, a, v = _linear_control(4, 6, dt, start)
    scaffold = MotionScaffold(control.float(), grid_start_s=start, dt_s=dt, max_control_points=8)
    t_mid = torch.tensor([0.25])
    before = scaffold.positions(t_mid).detach()
    result = scaffold.slide_to_cover(0.55)  # supported end 0.3 -> needs 3 more control points
    assert (result.added_head, result.retired_tail) == (3, 1)
    assert scaffold.num_control_points == 8
    assert scaffold.supported_interval_s[1] >= 0.55 - 1e-9
    torch.testing.assert_close(scaffold.positions(t_mid).detach(), before)
    last, step = control[:, -1].float(), (v * dt).float()  # the fitted motion moves one step per knot
    for k, reach in enumerate((0.5, 0.75, 0.875)):  # each new step half the previous one
        torch.testing.assert_close(scaffold.control[:, 5 + k].detach(), last + reach * step, rtol=0, atol=1e-5)
    assert scaffold.control.requires_grad and scaffold.control.is_leaf
    assert np.isclose(scaffold.grid_start_s, start + dt)


def test_a_node_that_nothing_constrains_comes_to_rest_when_the_window_slides_on() -> None:
    dt, start = 0.1, -0.1
    control, _, v = _linear_control(4, 6, dt, start)  # nodes in random uniform motion
    scaffold = MotionScaffold(control.float(), grid_start_s=start, dt_s=dt, max_control_points=8)
    last = scaffold.control[:, -1].detach().clone()
    for k in range(1, 101):  # 10 s of frames, no optimization step in between
        scaffold.slide_to_cover(0.3 + 0.1 * k)
    travel = (scaffold.positions(torch.tensor([10.3])).detach()[:, 0] - last).norm(dim=-1)
    assert torch.all(travel <= (v * dt).float().norm(dim=-1) + 1e-5)  # at most one more step, not 100


def test_slide_remap_moves_moments_with_the_control_points() -> None:
    scaffold = MotionScaffold(torch.zeros(2, 5, 3), grid_start_s=0.0, dt_s=1.0, max_control_points=6)
    result = scaffold.slide_to_cover(5.0)
    moments = torch.arange(10.0).reshape(2, 5, 1).expand(2, 5, 3)
    remapped = result.remap(moments)
    assert remapped.shape == (2, 6, 3)
    torch.testing.assert_close(remapped[:, : 5 - result.retired_tail], moments[:, result.retired_tail :])
    assert torch.all(remapped[:, 5 - result.retired_tail :] == 0)


def test_time_gradient_equals_velocity() -> None:
    control = torch.randn(2, 7, 3, dtype=torch.float64)
    scaffold = MotionScaffold(control, 0.0, 0.1, 10)
    t = torch.tensor([0.237], dtype=torch.float64, requires_grad=True)
    jac = torch.autograd.functional.jacobian(lambda s: scaffold.positions(s), t)[..., 0]
    torch.testing.assert_close(jac, scaffold.velocities(t.detach()), rtol=1e-9, atol=1e-9)
