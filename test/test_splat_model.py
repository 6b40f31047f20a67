"""Bound Gaussians, density control, the incremental model and its offset refinement."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from s4_core.camera import PinholeCamera, look_at
from s4_core.clock import ClockModel, seconds_to_ns
from s4_core.frames import Frame
from s4_core.splat.adam_state import NamedAdam
from s4_core.splat.appearance import IDENTITY_AFFINE, apply_colour_affine, fit_colour_affine
from s4_core.splat.bound_gaussians import PARAM_NAMES, BoundGaussians, bind_to_nearest_nodes
from s4_core.splat.densify import DensifyConfig, GradientAccumulator, densify_and_prune
from s4_core.splat.model import SplatModel, SplatModelConfig
from s4_core.splat.node_selection import farthest_point_sample, motion_aware_sample
from s4_core.splat.render import render

torch.set_num_threads(1)  # tiny tensors: threads only add contention

W, H = 32, 24
FPS = 20.0
VELOCITY_M_S = np.array([0.8, 0.0, 0.0])


def _cameras() -> list[PinholeCamera]:
    K = np.array([[30.0, 0, 15.5], [0, 30.0, 11.5], [0, 0, 1]])
    eyes = ([0.0, -3.0, 0.0], [0.6, -3.0, 0.3])
    return [PinholeCamera(f"cam{i}", W, H, K, look_at(np.array(eye), np.zeros(3))) for i, eye in enumerate(eyes)]


def _truth_tracks(times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Textured patch of 36 points translating along +x: xyz [T, 36, 3] and colours [36, 3]."""
    g = np.stack(np.meshgrid(np.linspace(-0.5, 0.5, 6), np.linspace(-0.4, 0.4, 6)), -1).reshape(-1, 2)
    rest = np.stack([g[:, 0] - 0.3, np.zeros(len(g)), g[:, 1]], -1)
    colours = np.random.default_rng(0).uniform(0.1, 0.9, (len(g), 3))
    return rest[None] + times_s[:, None, None] * VELOCITY_M_S, colours


def _truth_model(config: SplatModelConfig) -> SplatModel:
    times = np.arange(0.0, 0.6, 1 / FPS) + 100.0
    xyz, colours = _truth_tracks(times - 100.0)
    return SplatModel.from_tracks(config, "cam0", times, xyz, colours)


def _frame_from(model: SplatModel, camera: PinholeCamera, capture_s: float, clock: ClockModel) -> Frame:
    rgb = model.render(camera, capture_s).rgb.numpy()
    stamp_s = float(clock.stamp_at(capture_s))
    return Frame(camera.name, seconds_to_ns(stamp_s), np.round(rgb * 255).clip(0, 255).astype(np.uint8))


def test_binding_weights_sum_to_one_and_initial_means_are_exact() -> None:
    points = torch.randn(50, 3)
    nodes = points[farthest_point_sample(points, 10)]
    ids, weights = bind_to_nearest_nodes(points, nodes, 4)
    assert ids.shape == (50, 4)
    torch.testing.assert_close(weights.sum(1), torch.ones(50))
    g = BoundGaussians.initialize(points, torch.rand(50, 3), nodes, 4, torch.full((50,), 0.05), 0.5)
    torch.testing.assert_close(g.means(nodes), points)
    torch.testing.assert_close(g.means(nodes + 1.0), points + 1.0)  # nodes carry their Gaussians


def test_farthest_point_sample_spreads() -> None:
    points = torch.tensor([[0.0, 0, 0], [0.1, 0, 0], [5.0, 0, 0], [5.1, 0, 0], [10.0, 0, 0]])
    assert sorted(farthest_point_sample(points, 3).tolist()) == [0, 2, 4]


def _room_and_spinning_ball(times_s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Trajectories [N, S, 3]: a static 4x4 m floor of 400 points and a 0.3 m ball of 100 points
    spinning at 1 rev/s at its centre; and the mask [N] of the ball's points."""
    generator = torch.Generator().manual_seed(0)
    floor = torch.cat([4.0 * torch.rand(400, 2, generator=generator) - 2.0, torch.zeros(400, 1)], 1)
    ball = torch.nn.functional.normalize(torch.randn(100, 3, generator=generator), dim=1) * 0.3
    angle = 2 * torch.pi * times_s  # [S]
    c, s_ = torch.cos(angle)[None], torch.sin(angle)[None]
    spun = torch.stack([c * ball[:, :1] - s_ * ball[:, 1:2], s_ * ball[:, :1] + c * ball[:, 1:2], ball[:, 2:].expand(-1, len(times_s))], -1)
    centre = torch.tensor([0.5, 0.5, 1.0])
    trajectories = torch.cat([floor[:, None].expand(-1, len(times_s), 3), centre + spun], 0)
    return trajectories, torch.cat([torch.zeros(400, dtype=torch.bool), torch.ones(100, dtype=torch.bool)])


def _motion_error_m(trajectories: torch.Tensor, nodes: torch.Tensor, neighbours: int) -> torch.Tensor:
    """Worst displacement error [N] of each trajectory as the blend of its nearest nodes."""
    points, displacement = trajectories[:, -1], trajectories - trajectories[:, -1:]
    ids, weights = bind_to_nearest_nodes(points, points[nodes], neighbours)
    blended = (weights[..., None, None] * displacement[nodes][ids]).sum(1)
    return (displacement - blended).norm(dim=-1).max(dim=1).values


def test_motion_aware_nodes_follow_a_spinning_ball_that_even_spread_nodes_blur() -> None:
    trajectories, on_ball = _room_and_spinning_ball(torch.linspace(0.0, 0.5, 16))
    spread = farthest_point_sample(trajectories[:, -1], 40)
    aware = motion_aware_sample(trajectories, 40, 4, coverage_share=0.5, tolerance_m=0.005)
    assert len(set(aware.tolist())) == 40
    assert int(on_ball[spread].sum()) <= 4 < 15 <= int(on_ball[aware].sum())
    # the ball's points sweep up to 0.6 m; the blend of motion-aware nodes follows them closely
    spread_error, aware_error = _motion_error_m(trajectories, spread, 4), _motion_error_m(trajectories, aware, 4)
    assert float(spread_error[on_ball].median()) > 0.2
    assert float(aware_error[on_ball].median()) < 0.5 * float(spread_error[on_ball].median())
    # coverage is kept: no floor point is much farther from a node than with even spreading
    def coverage_m(nodes: torch.Tensor) -> float:
        return float(torch.cdist(trajectories[:, -1], trajectories[nodes, -1]).min(1).values.max())

    assert coverage_m(aware) < 2.0 * coverage_m(spread)


def test_a_point_blends_only_nodes_that_move_like_its_nearest() -> None:
    # two static nodes on the floor and two on a body passing just above it
    nodes = torch.tensor([[0.0, 0, 0], [1.0, 0, 0], [0.3, 0, 0.2], [0.6, 0, 0.2]])
    sweep = torch.linspace(-1.0, 0.0, 8)[:, None] * torch.tensor([1.0, 0, 0])  # the body arrives along x
    motion = torch.stack([torch.zeros(8, 3), torch.zeros(8, 3), sweep, sweep])  # [4, 8, 3]
    points = torch.tensor([[0.1, 0, 0.05], [0.45, 0, 0.25]])  # floor, body
    ids, weights = bind_to_nearest_nodes(points, nodes, 3)
    assert weights[0][ids[0] >= 2].sum() > 0.2  # spatially, the floor point takes the body's motion
    ids, weights = bind_to_nearest_nodes(points, nodes, 3, motion, tolerance_m=0.01)
    torch.testing.assert_close(weights.sum(1), torch.ones(2))
    assert set(ids[0][weights[0] > 0].tolist()) == {0, 1}  # floor: static nodes only
    assert set(ids[1][weights[1] > 0].tolist()) == {2, 3}  # body: body nodes only
    blended = (weights[..., None, None] * motion[ids]).sum(1)
    torch.testing.assert_close(blended[0], torch.zeros(8, 3))
    torch.testing.assert_close(blended[1], sweep)


def test_motion_aware_nodes_on_a_static_scene_are_farthest_point_samples() -> None:
    trajectories, _ = _room_and_spinning_ball(torch.zeros(4))  # nothing moves
    aware = motion_aware_sample(trajectories, 30, 4, coverage_share=0.5, tolerance_m=0.005)
    assert aware.tolist() == farthest_point_sample(trajectories[:, -1], 30).tolist()


def test_a_frame_that_sees_no_gaussian_is_scored_but_changes_nothing() -> None:
    model = _truth_model(SplatModelConfig(steps_per_frame=1))
    camera = _cameras()[1]
    away = PinholeCamera(camera.name, W, H, camera.K, look_at(np.array([0.0, 3.0, 0.0]), np.array([0.0, 6.0, 0.0])))
    before = {name: p.detach().clone() for name, p in model.gaussians.params.items()}
    frame = Frame(away.name, seconds_to_ns(100.3), np.full((H, W, 3), 128, np.uint8))
    report = model.add_frame(frame, away, ClockModel())  # cam1 has a learnable colour response
    assert report.losses[0] > 0.4 and model.step_count == 0
    for name, value in model.gaussians.params.items():
        torch.testing.assert_close(value.detach(), before[name])


def test_densify_clones_splits_prunes_within_cap_and_keeps_moments_aligned() -> None:
    points = torch.randn(6, 3)
    scales = torch.tensor([0.01, 0.01, 0.2, 0.2, 0.01, 0.01])
    g = BoundGaussians.initialize(points, torch.rand(6, 3), points, 2, scales, 0.5)
    with torch.no_grad():
        g.params["opacity_logits"][5] = -10.0  # prune: transparent
    adam = NamedAdam(dict(g.params), {name: 1e-3 for name in PARAM_NAMES})
    sum(p.sum() * (i + 1) for i, p in enumerate(g.params.values())).backward()
    adam.step()
    marker = adam.moments_of("offsets")[0].clone()
    grads = GradientAccumulator(6)
    grads.add(torch.tensor([[1.0, 0], [0, 0], [1.0, 0], [0, 0], [0, 0], [0, 0]]), torch.ones(6, dtype=torch.long), 2, 2)
    config = DensifyConfig(grad_threshold=0.5, split_scale_m=0.05, max_gaussians=100)
    cloned, split, pruned = densify_and_prune(g, grads, adam, config, torch.Generator().manual_seed(0))
    assert (cloned, split, pruned) == (1, 1, 1)
    assert g.count == 6 - 1 - 1 + 1 + 2
    kept = [0, 1, 3, 4]
    new_state = adam.moments_of("offsets")[0]
    torch.testing.assert_close(new_state[:4], marker[kept])
    assert torch.all(new_state[4:] == 0)
    torch.testing.assert_close(g.scales()[-2:], torch.full((2, 3), 0.2 / 1.6), rtol=3e-3, atol=0)  # one Adam step moved it
    capped = DensifyConfig(grad_threshold=0.0, max_gaussians=g.count)
    densify_and_prune(g, GradientAccumulator(g.count), adam, capped, torch.Generator())
    assert g.count <= capped.max_gaussians


def test_model_reproduces_its_tracks_and_slides_with_bounded_memory() -> None:
    config = SplatModelConfig(window_s=0.5, knot_spacing_s=0.1, steps_per_frame=1, max_frames_per_camera=4, densify_every_steps=0)
    model = _truth_model(config)
    snapshot = model.gaussians_at(100.5)
    expected, _ = _truth_tracks(np.array([0.5]))
    np.testing.assert_allclose(snapshot.means, expected[0], atol=1e-4)
    camera = _cameras()[0]
    for i in range(12):
        capture = 100.6 + i / FPS
        model.add_frame(_frame_from(model, camera, min(capture, model.supported_interval_s[1]), ClockModel()), camera, ClockModel())
    assert model.scaffold.num_control_points <= config.max_control_points
    assert len(model.frames) <= config.max_frames_per_camera
    assert model.supported_interval_s[1] >= 100.6 + 11 / FPS - 1e-6


def test_optimization_reduces_photometric_error_from_perturbed_colours() -> None:
    config = SplatModelConfig(steps_per_frame=10, densify_every_steps=0, refine_offsets=False, lr_colour=0.1)
    truth = _truth_model(config)
    camera = _cameras()[0]
    frame = _frame_from(truth, camera, 100.5, ClockModel())
    model = _truth_model(config)
    with torch.no_grad():
        model.gaussians.params["colour_logits"].normal_(generator=torch.Generator().manual_seed(1))
    report = model.add_frame(frame, camera, ClockModel())
    assert report.losses[-1] < 0.6 * report.losses[0]


def test_photometric_refinement_recovers_a_clock_offset_error() -> None:
    """Camera 1 really runs 37 ms ahead; it is given as 45 ms: the model must find -8 ms."""
    only_offsets = {f.name: 0.0 for f in dataclasses.fields(SplatModelConfig) if f.name.startswith("lr_") and f.name != "lr_offset_delta"}
    config = SplatModelConfig(steps_per_frame=5, densify_every_steps=0, max_offset_delta_s=0.02, offset_settle_s=0.0,
                              refine_offsets=True, **only_offsets)
    truth = _truth_model(config)
    cam0, cam1 = _cameras()
    true_clock, given_clock = ClockModel(offset_s=0.037), ClockModel(offset_s=0.045)
    model = _truth_model(config)
    for i in range(6):
        capture = 100.3 + i * 0.025
        model.add_frame(_frame_from(truth, cam0, capture, ClockModel()), cam0, ClockModel())
        model.add_frame(_frame_from(truth, cam1, capture + 0.01, true_clock), cam1, given_clock)
    deltas = model.offset_deltas_s()
    assert set(deltas) == {"cam1"}  # the reference camera has no correction
    assert deltas["cam1"] == pytest.approx(-0.008, abs=0.002)
    assert model.refined_clock("cam1", given_clock).offset_s == pytest.approx(0.037, abs=0.002)


def test_from_tracks_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        SplatModel.from_tracks(SplatModelConfig(), "cam0", np.arange(3.0), np.zeros((3, 4, 2)), np.zeros((4, 3)))


def test_render_matches_direct_render_of_snapshot() -> None:
    model = _truth_model(SplatModelConfig())
    camera = _cameras()[1]
    s = model.gaussians_at(100.4)
    direct = render(*(torch.as_tensor(x) for x in (s.means, s.quats, s.scales, s.opacities, s.colours)), camera)
    torch.testing.assert_close(model.render(camera, 100.4).rgb, direct.rgb)


def test_fit_colour_affine_recovers_a_known_response() -> None:
    rgb = torch.rand(500, 3, generator=torch.Generator().manual_seed(0))
    affine = torch.tensor([[0.9, 0.05, 0.0, 0.02], [0.0, 1.1, 0.0, -0.01], [0.02, 0.0, 0.8, 0.03]])
    torch.testing.assert_close(fit_colour_affine(rgb, apply_colour_affine(rgb, affine)), affine, atol=1e-5, rtol=0)
    torch.testing.assert_close(apply_colour_affine(rgb, IDENTITY_AFFINE), rgb)


def test_colour_response_is_learned_for_other_cameras_only() -> None:
    """Camera 1's pixels are 0.8x the scene colour: its affine must learn a gain below 1."""
    only_colour = {f.name: 0.0 for f in dataclasses.fields(SplatModelConfig) if f.name.startswith("lr_") and f.name != "lr_colour_affine"}
    config = SplatModelConfig(steps_per_frame=20, densify_every_steps=0, refine_offsets=False, lr_colour_affine=1e-2, **only_colour)
    truth = _truth_model(config)
    cam0, cam1 = _cameras()
    darker = _frame_from(truth, cam1, 100.5, ClockModel())
    darker = dataclasses.replace(darker, rgb=np.round(darker.rgb * 0.8).astype(np.uint8))
    model = _truth_model(config)
    model.add_frame(_frame_from(truth, cam0, 100.5, ClockModel()), cam0, ClockModel())
    report = model.add_frame(darker, cam1, ClockModel())
    assert set(model.colour_affines) == {"cam1"}
    assert report.losses[-1] < 0.5 * report.losses[0]
    gains = torch.diagonal(model.colour_affines["cam1"].detach()[:, :3])
    assert torch.all(gains < 0.97)


def test_seed_from_depth_lifts_pixels_once_and_replaces_coarser_gaussians() -> None:
    config = SplatModelConfig(depth_stride_px=2)
    model = _truth_model(config)
    camera = _cameras()[0]
    depth = np.full((H, W), 3.0, np.float32)  # wall 3 m in front of the camera (at y = 0)
    depth[:4] = np.nan
    frame = Frame("cam0", seconds_to_ns(100.5), np.full((H, W, 3), 200, np.uint8), depth_m=depth, model=camera)
    before = model.gaussians.count
    added = model.seed_from_depth(frame, camera, ClockModel())
    assert added > 0
    means = model.gaussians_at(100.5).means[-added:]
    np.testing.assert_allclose(means[:, 1], 0.0, atol=1e-5)  # on the wall
    assert model.gaussians.count <= before + (H - 4) * W // 4
    assert model.seed_from_depth(frame, camera, ClockModel()) == 0  # already covered
    no_depth = dataclasses.replace(frame, depth_m=np.full((H, W), np.nan, np.float32))
    assert model.seed_from_depth(no_depth, camera, ClockModel()) == 0
