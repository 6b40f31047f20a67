"""Point motion between two frames (pyramidal Lucas-Kanade) against exact translations.

The scene is blurred noise, which has texture at every scale (the sinusoids of
:mod:`test_tracking_scenes` alias on coarse pyramid levels), moved by whole pixels, so the
truth is exact.
"""

from __future__ import annotations

import cv2
import numpy as np

from s4_core.tracking.flow import FlowConfig, PointFlow

SIZE_WH = (320, 240)  # three pyramid levels above full resolution for a 7-px window
SHIFT = np.array([13, -7])  # px per frame: beyond one pyramid level's reach, within three
MARGIN_PX = 20


def _grays(shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two grey frames in which the content moved by ``shift`` (whole pixels)."""
    w, h = SIZE_WH
    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 255, (h + 2 * MARGIN_PX, w + 2 * MARGIN_PX)).astype(np.float32)
    scene = np.clip(cv2.GaussianBlur(noise, (0, 0), 1.5) * 3.0 - 255.0, 0, 255).astype(np.uint8)
    du, dv = shift
    a = scene[MARGIN_PX : MARGIN_PX + h, MARGIN_PX : MARGIN_PX + w]
    b = scene[MARGIN_PX - dv : MARGIN_PX - dv + h, MARGIN_PX - du : MARGIN_PX - du + w]
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def _spied(flow: PointFlow) -> list[tuple[int, int]]:
    """(pyramid levels, points) of each Lucas-Kanade call ``flow`` makes from now on."""
    passes: list[tuple[int, int]] = []
    real = flow._lucas_kanade
    flow._lucas_kanade = lambda a, b, points, levels: passes.append((levels, len(points))) or real(a, b, points, levels)
    return passes


def _inner_grid() -> np.ndarray:
    u, v = np.meshgrid(np.arange(40.0, 281.0, 10.0), np.arange(40.0, 201.0, 10.0))
    return np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float32)


def test_motion_beyond_the_first_pass_is_tracked_on_the_full_pyramid() -> None:
    """The cheap first pass (one level) cannot follow 15 px per frame; the points it does not
    bring back get all three levels, and end where a single full pass puts them."""
    gray_a, gray_b = _grays(SHIFT)
    uv = _inner_grid()
    truth = uv + SHIFT

    def moved(config: FlowConfig) -> np.ndarray:
        return PointFlow(config).track(gray_a, gray_b, uv).moved

    with np.errstate(invalid="ignore"):
        first_pass_only = np.linalg.norm(moved(FlowConfig(lk_levels=1, lk_first_levels=1)) - truth, axis=1) < 0.1
        two_passes = moved(FlowConfig(lk_levels=3, lk_first_levels=1))
        full = moved(FlowConfig(lk_levels=3, lk_first_levels=3))
        assert first_pass_only.mean() < 0.5, "the scene does not need the full pyramid: the check below proves nothing"
        assert (np.linalg.norm(two_passes - truth, axis=1) < 0.1).mean() > 0.95
        failed_only = moved(FlowConfig(lk_levels=3, lk_first_levels=1, lk_retry_all_share=1.0))
        assert (np.linalg.norm(failed_only - truth, axis=1) < 0.1).mean() < 0.95, "look-alikes that pass the round trip"
    np.testing.assert_allclose(two_passes, full, atol=0.01)


def test_small_motion_is_settled_by_the_first_pass_alone() -> None:
    """Frame-to-frame motion within one level's reach needs no second pass, and the first pass
    agrees with the full pyramid."""
    gray_a, gray_b = _grays(np.array([2, -1]))
    uv = _inner_grid()
    flow = PointFlow(FlowConfig(lk_levels=3, lk_first_levels=1))
    passes = _spied(flow)
    motion = flow.track(gray_a, gray_b, uv)
    assert passes == [(1, len(uv))] * 2
    full = PointFlow(FlowConfig(lk_levels=3, lk_first_levels=3)).track(gray_a, gray_b, uv)
    np.testing.assert_allclose(motion.moved, full.moved, atol=0.01)
    assert np.median(np.linalg.norm(motion.moved - (uv + [2, -1]), axis=1)) < 0.05


def test_points_expected_to_move_far_get_the_full_pyramid_at_once() -> None:
    """A moving object among still points fails the first pass on too few points to send
    everyone to the full pyramid; its points' expected motion (their last step) sends them
    there at once instead of to the first pass, where some would land on look-alikes."""
    gray_a, gray_b = _grays(np.array([2, -1]))
    uv = _inner_grid()
    flow = PointFlow(FlowConfig(lk_levels=3, lk_first_levels=1))
    passes = _spied(flow)
    expected = np.full(len(uv), np.nan)  # unknown: the first pass
    expected[::10] = 8.0  # beyond half the first pass's reach (3 px * 2 / 2)
    expected[1::10] = 2.5  # within it
    flow.track(gray_a, gray_b, uv, expected)
    fast = len(uv[::10])
    assert passes == [(1, len(uv) - fast)] * 2 + [(3, fast)] * 2
