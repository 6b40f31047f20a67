"""Known-answer tests of the tracking metrics and descriptors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from s4_core.tracking.descriptors import appearance_descriptors, motion_descriptors
from s4_core.tracking.metrics import (
    apd_3d_depth_scaled_percent,
    apd_3d_percent,
    coverage,
    epe_3d_m,
    occlusion_accuracy,
    pck_2d_percent,
    pixel_error_px,
    score_tracks,
)
from s4_core.tracks import TrackSet


def offsets_along_x(errors_m: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and truth [1, N, 3] whose errors are exactly ``errors_m`` along x."""
    gt = np.zeros((1, len(errors_m), 3))
    pred = gt.copy()
    pred[0, :, 0] = errors_m
    return pred, gt


def test_apd_counts_points_within_each_st4rtrack_threshold() -> None:
    pred, gt = offsets_along_x([0.05, 0.2, 0.4, 0.8, 2.0])
    evaluate = np.ones((1, 5), bool)
    # thresholds 0.1, 0.3, 0.5, 1.0 m hold 1, 2, 3, 4 of the 5 points
    assert apd_3d_percent(pred, gt, evaluate) == pytest.approx(100 * (1 + 2 + 3 + 4) / 20)
    assert epe_3d_m(pred, gt, evaluate) == pytest.approx(np.mean([0.05, 0.2, 0.4, 0.8, 2.0]))


def test_lost_points_are_misses_for_apd_and_left_out_of_epe() -> None:
    pred, gt = offsets_along_x([0.05, 0.05])
    pred[0, 1] = np.nan
    evaluate = np.ones((1, 2), bool)
    assert apd_3d_percent(pred, gt, evaluate) == pytest.approx(50.0)
    assert epe_3d_m(pred, gt, evaluate) == pytest.approx(0.05)
    assert coverage(pred, evaluate) == pytest.approx(0.5)


def test_points_outside_the_evaluation_mask_do_not_count() -> None:
    pred, gt = offsets_along_x([0.05, 5.0])
    evaluate = np.array([[True, False]])
    assert apd_3d_percent(pred, gt, evaluate) == pytest.approx(100.0)
    assert epe_3d_m(pred, gt, evaluate) == pytest.approx(0.05)
    assert np.isnan(epe_3d_m(pred, gt, np.zeros_like(evaluate)))


def test_depth_scaled_apd_turns_pixels_into_metres_at_the_true_depth() -> None:
    pred, gt = offsets_along_x([0.015, 0.015])
    depth = np.array([[1.0, 4.0]])  # with f = 100 px: 1 px is 0.01 m at 1 m and 0.04 m at 4 m
    evaluate = np.ones((1, 2), bool)
    # near point within 2, 4, 8, 16 px (4 of 5); far point within all 5
    value = apd_3d_depth_scaled_percent(pred, gt, evaluate, depth, focal_px=100.0)
    assert value == pytest.approx(100 * (4 + 5) / 10)


def test_2d_errors_and_pck() -> None:
    gt = np.zeros((2, 2, 2))
    pred = gt.copy()
    pred[:, 0, 0] = 3.0  # 3 px off: within 4, 8, 16
    evaluate = np.ones((2, 2), bool)
    assert pixel_error_px(pred, gt, evaluate) == pytest.approx(1.5)
    assert pck_2d_percent(pred, gt, evaluate) == pytest.approx(100 * (3 + 5) / 10)


def test_occlusion_accuracy() -> None:
    pred = np.array([[True, False, True, False]])
    gt = np.array([[True, True, True, False]])
    assert occlusion_accuracy(pred, gt, np.ones_like(gt)) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        occlusion_accuracy(pred, gt[:, :3], np.ones_like(gt))


def test_score_tracks_of_perfect_tracks() -> None:
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(4, 6, 3))
    uv = rng.uniform(0, 50, size=(4, 6, 2))
    visible = np.ones((4, 6), bool)
    visible[2:, 0] = False
    tracks = TrackSet(
        "cam", np.arange(6), np.arange(4) * 10, np.where(visible[..., None], uv, np.nan), visible,
        np.where(visible[..., None], xyz, np.nan), np.zeros((6, 1)), visible.astype(np.float32), "world",
    )
    truth = SimpleNamespace(uv=uv, visible=visible, xyz=xyz, depth_m=np.full((4, 6), 2.0))
    score = score_tracks(tracks, truth, focal_px=100.0)
    assert score.epe_3d_m == 0.0 and score.apd_3d_percent == 100.0 and score.apd_3d_depth_scaled_percent == 100.0
    assert score.pixel_error_px == 0.0 and score.occlusion_accuracy == 1.0 and score.coverage_2d == 1.0


def test_appearance_descriptor_ignores_per_channel_gain_and_bias() -> None:
    rng = np.random.default_rng(3)
    rgb = rng.integers(40, 200, size=(40, 50, 3)).astype(np.uint8)
    other = np.clip(rgb * np.array([1.2, 0.9, 1.05]) + np.array([5.0, -10.0, 0.0]), 0, 255).round().astype(np.uint8)
    uv = np.array([[10.0, 10.0], [30.0, 20.0], [45.0, 35.0]])
    a, b = appearance_descriptors(rgb, uv), appearance_descriptors(other, uv)
    assert np.abs(a - b).max() < 0.05
    assert np.abs(a[0] - a[1]).max() > 0.1  # and still tells points apart


def test_appearance_descriptor_is_the_window_statistics_of_the_normalized_image() -> None:
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, size=(30, 40, 3)).astype(np.uint8)
    uv = np.array([[10.2, 12.7], [0.0, 0.0], [39.0, 5.0], [2.4, 29.0]])  # interior, then windows cut at the border
    normalized = (rgb - rgb.mean(axis=(0, 1))) / rgb.std(axis=(0, 1))
    got = appearance_descriptors(rgb, uv, radius_px=2)
    for (u, v), row in zip(np.rint(uv).astype(int), got):
        window = normalized[max(v - 2, 0) : v + 3, max(u - 2, 0) : u + 3].reshape(-1, 3)
        np.testing.assert_allclose(row, np.concatenate([window.mean(axis=0), window.std(axis=0)]), atol=1e-4)


def test_motion_descriptor_known_answer_and_rigid_invariance() -> None:
    times = np.arange(5) * 0.1
    line = np.stack([np.stack([0.05 * k, 0.0, 1.0]) for k in range(5)])[:, None, :]  # 0.5 m/s along x
    valid = np.ones((5, 1), bool)
    d = motion_descriptors(line, valid, times)[0]
    assert d[0] == pytest.approx(0.5, rel=1e-5) and d[1] == pytest.approx(0.0, abs=1e-5)
    assert d[2] == pytest.approx(0.05 * np.sqrt((25 - 1) / 12), rel=1e-5)  # radius of gyration
    assert d[3] == pytest.approx(1.0)
    angle = 0.7
    R = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    wobbly = line + np.array([0.0, 0.02, 0.0]) * np.sin(np.arange(5))[:, None, None]
    moved = wobbly @ R.T + np.array([3.0, -1.0, 2.0])
    np.testing.assert_allclose(motion_descriptors(moved, valid, times), motion_descriptors(wobbly, valid, times), atol=1e-5)


def test_motion_descriptor_ignores_gaps() -> None:
    times = np.arange(4) * 0.1
    track = np.array([[0.0, 0, 0], [0.01, 0, 0], [5.0, 0, 0], [0.03, 0, 0]])[:, None, :]
    valid = np.array([True, True, False, True])[:, None]
    assert motion_descriptors(track, valid, times)[0, 0] == pytest.approx(0.1)  # the step before the gap only
