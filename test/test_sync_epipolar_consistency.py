"""Timing calibrated RGB-only cameras from the motion each epipolar plane crosses.

The scene is a checkerboard moved by a smooth, non-periodic path in front of two calibrated
cameras running at 30 and 25 fps (a ChArUco board moved by hand, reduced to its essentials),
rendered with a plane homography so every test stays fast.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from s4_core.camera import PinholeCamera, intrinsics_from_fov, look_at
from s4_core.clock import NS_PER_S
from s4_core.sync.epipolar_consistency import (
    EpipolarConsistencyConfig, _correlation_centred_per_plane, _plane_index, offset_by_mutual_epipolar_consistency,
)
from s4_core.sync.image_history import ImageHistory, ImageHistoryConfig
from s4_core.sync.offset_search import PeakCriteria, Subsample, best_rival, combine_directions, search_offset
from s4_core.sync.pair import PairOffset
from s4_core.sync.window import WindowSyncConfig, estimate_window_offsets
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.tracks import TrackSet

SIZE_WH = (160, 120)
START_NS = 1_000_000_000
BOARD_RATE = 2.0  # the path's time scale: the board crosses its own size in about 0.15 s
FAST = EpipolarConsistencyConfig(max_offset_s=1.0)


def _camera(name: str, eye: tuple[float, float, float]) -> PinholeCamera:
    return PinholeCamera(name, *SIZE_WH, intrinsics_from_fov(*SIZE_WH, 60.0), look_at(np.array(eye), np.zeros(3)))


CAMERAS = (_camera("a", (0.0, -2.5, 0.4)), _camera("b", (2.0, -1.6, 0.6)))


def _board_corners_world(t_s: float) -> np.ndarray:
    """Corners [4, 3] of a 0.25 m board at time ``t_s``: wandering and turning, never repeating."""
    w = BOARD_RATE
    centre = np.array([0.5 * np.sin(1.3 * w * t_s), 0.3 * np.sin(0.7 * w * t_s + 1.0), 0.35 * np.sin(0.9 * w * t_s + 0.3 * (w * t_s) ** 1.5)])
    angle = 0.4 * np.sin(0.5 * w * t_s)
    u = np.array([np.cos(angle), 0.0, np.sin(angle)]) * 0.125
    v = np.cross(u, np.array([0.0, 1.0, 0.0]))
    v *= 0.125 / np.linalg.norm(v)
    return centre + np.array([-u - v, u - v, u + v, -u + v])


_TEXTURE = (np.kron((np.indices((8, 8)).sum(axis=0) % 2), np.ones((16, 16))) * 200 + 40).astype(np.uint8)


def _render(camera: PinholeCamera, t_s: float) -> np.ndarray:
    """RGB [H, W, 3]: the checkerboard on a mid-grey background."""
    uv, _ = camera.project(_board_corners_world(t_s))
    side = _TEXTURE.shape[0] - 1
    H = cv2.getPerspectiveTransform(np.float32([[0, 0], [side, 0], [side, side], [0, side]]), uv.astype(np.float32))
    board = cv2.warpPerspective(_TEXTURE, H, SIZE_WH, flags=cv2.INTER_LINEAR, borderValue=0)
    cover = cv2.warpPerspective(np.ones_like(_TEXTURE), H, SIZE_WH, flags=cv2.INTER_NEAREST, borderValue=0)
    grey = np.where(cover > 0, board, 110).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def _history(camera: PinholeCamera, fps: float, offset_s: float, duration_s: float = 5.0, moving: bool = True) -> ImageHistory:
    """A camera's image history; its frame captured at t is stamped t + ``offset_s``."""
    history = ImageHistory(camera, ImageHistoryConfig(window_s=duration_s + 1.0))
    for capture_s in np.arange(0.0, duration_s, 1.0 / fps):
        history.push(START_NS + round((capture_s + offset_s) * NS_PER_S), _render(camera, capture_s if moving else 0.0))
    return history


@dataclass(frozen=True)
class _Rig:
    a: ImageHistory
    b: ImageHistory


@pytest.fixture(scope="module")
def rig() -> _Rig:
    return _Rig(_history(CAMERAS[0], 30.0, 0.0), _history(CAMERAS[1], 25.0, 0.0731))


def test_motion_mask_marks_the_board_where_it_is_now():
    history = ImageHistory(CAMERAS[0], ImageHistoryConfig(stride_px=1, change_interval_s=0.0, min_frames=3))
    frames = [np.full((SIZE_WH[1], SIZE_WH[0], 3), 100, np.uint8) for _ in range(5)]
    for k, frame in enumerate(frames):
        frame[40:60, 20 + 10 * k : 30 + 10 * k] = 220  # a 10 px block stepping 10 px per frame
        history.push(START_NS + k * 33_000_000, frame)
    expected = np.zeros((SIZE_WH[1], SIZE_WH[0]), bool)
    expected[40:60, 40:50] = True  # frame 2: differs from frames 1 and 3 only where it is now
    np.testing.assert_array_equal(history.dynamic_mask(2), expected)


def test_what_counts_as_motion_scales_with_the_cameras_noise():
    """A grainy camera's noise is not motion, and a clean camera's faint motion is."""
    rng = np.random.default_rng(0)
    marked = {}
    for noise in (0.0, 6.0):
        history = ImageHistory(CAMERAS[0], ImageHistoryConfig(stride_px=1, change_interval_s=0.0, min_frames=3))
        for k in range(5):
            frame = np.full((SIZE_WH[1], SIZE_WH[0]), 100.0)
            frame[40:60, 20 + 10 * k : 30 + 10 * k] += 15.0 if noise == 0 else 120.0  # faint / strong block
            frame += rng.normal(0.0, noise, frame.shape)
            grey = np.clip(frame, 0, 255).astype(np.uint8)
            history.push(START_NS + k * 33_000_000, np.repeat(grey[..., None], 3, axis=-1))
        assert history.change_threshold() == pytest.approx(5.5 * max(np.sqrt(2) * noise, 1.0), rel=0.15)  # sqrt(2): a difference of two frames
        marked[noise] = history.dynamic_mask(2)
    for mask in marked.values():
        assert mask[40:60, 40:50].mean() > 0.95  # the block where it is now
        assert mask.sum() < 1.1 * 200  # and hardly anything else


def test_a_scene_point_lies_on_the_same_epipolar_plane_in_both_cameras():
    """The pencil's planes are named alike in both images: what ties A's motion to B's."""
    plane_a, plane_b = _plane_index(CAMERAS[0], CAMERAS[1], FAST)
    points = np.random.default_rng(1).uniform(-0.5, 0.5, (400, 3))
    uv_a, _ = CAMERAS[0].project(points)
    uv_b, _ = CAMERAS[1].project(points)
    pa = plane_a[np.round(uv_a[:, 1]).astype(int), np.round(uv_a[:, 0]).astype(int)]
    pb = plane_b[np.round(uv_b[:, 1]).astype(int), np.round(uv_b[:, 0]).astype(int)]
    both = (pa >= 0) & (pb >= 0)
    assert both.mean() > 0.9
    assert np.abs(pa - pb)[both].max() <= 1  # the same plane, up to rounding the pixel
    assert len(np.unique(pa[both])) > FAST.num_planes // 3  # and the points spread over many planes


def test_a_history_needs_enough_frames_and_matching_images():
    history = ImageHistory(CAMERAS[0], ImageHistoryConfig(min_frames=5))
    history.push(START_NS, np.zeros((SIZE_WH[1], SIZE_WH[0], 3), np.uint8))
    assert not history.ready and not history.dynamic_mask(0).any()
    with pytest.raises(ValueError):
        history.push(START_NS + 1, np.zeros((10, 10, 3), np.uint8))


def test_search_finds_a_smooth_peak_between_grid_points_with_block_spread():
    def score(offsets_s: np.ndarray, frames: np.ndarray | None) -> np.ndarray:
        return np.stack([np.exp(-0.5 * ((offsets_s - 0.1234) / 0.05) ** 2), np.full(len(offsets_s), 500.0)], axis=1)

    found = search_offset(score, np.arange(-1.0, 1.0, 1 / 60), 12, 1 / 30, PeakCriteria(100, 0.1, 0.2))
    assert found.ok and found.offset_s == pytest.approx(0.1234, abs=1e-4)
    assert found.stddev_s == pytest.approx(0.01 / 30)  # the floor: every block agrees exactly


def test_the_stddev_also_sees_samples_that_disagree_while_every_block_of_frames_agrees():
    """A few of B's tracks pull the optimum in every frame alike: blocks of frames cannot see
    it, groups of tracks can."""
    def score(offsets_s: np.ndarray, parts) -> np.ndarray:
        parts = parts or [Subsample()] * len(offsets_s)
        centre = np.array([0.1234 + (0.002 * (p.group[0] - 2.5) if p.group else 0.0) for p in parts])
        return np.stack([np.exp(-0.5 * ((offsets_s - centre) / 0.05) ** 2), np.full(len(offsets_s), 500.0)], axis=1)

    found = search_offset(score, np.arange(-1.0, 1.0, 1 / 60), 12, 1 / 30, PeakCriteria(100, 0.1, 0.2, num_groups=6))
    group_optima = 0.1234 + 0.002 * (np.arange(6) - 2.5)
    assert found.offset_s == pytest.approx(0.1234, abs=1e-4)
    assert found.stddev_s == pytest.approx(np.std(group_optima, ddof=1) / np.sqrt(6), rel=0.02)


def test_a_rival_lobe_is_not_the_flank_of_the_peak():
    scores = np.array([0.0, 0.1, 0.9, 1.0, 0.8, 0.2, 0.0, 0.7, 0.1])
    assert best_rival(scores, 3) == pytest.approx(0.7)


def test_two_directions_combine_with_their_disagreement_as_error():
    forward = PairOffset("a", "b", 0.10, 0.003, 0.0, 1 / 30, 10, True)
    backward = PairOffset("b", "a", -0.12, 0.004, 0.0, 1 / 30, 10, True)
    pair = combine_directions(forward, backward)
    assert pair.ok and pair.offset_s == pytest.approx(0.11)
    assert pair.stddev_s == pytest.approx(np.sqrt(0.25 * (0.003**2 + 0.004**2) + 0.01**2))


def test_known_offset_of_two_calibrated_rgb_cameras_is_recovered_honestly(rig):
    pair = offset_by_mutual_epipolar_consistency(rig.a, rig.b, FAST)
    assert pair.ok, pair.reason
    error_s = pair.offset_s - 0.0731
    # measured: 0.006 frames; the stddev (0.15 frames) is the floor for motion one camera
    # cannot see, which this board (always in both views) does not have
    assert abs(error_s) < 0.1 / 30.0, pair
    assert abs(error_s) <= 3.0 * pair.stddev_s, pair


def test_a_hint_keeps_the_search_local_and_gives_the_same_offset(rig):
    pair = offset_by_mutual_epipolar_consistency(rig.a, rig.b, FAST, hint_s=0.05)
    assert pair.ok, pair.reason
    assert abs(pair.offset_s - 0.0731) < 0.1 / 30.0, pair


def test_a_static_scene_gives_no_offset():
    a = _history(CAMERAS[0], 30.0, 0.0, duration_s=1.0, moving=False)
    b = _history(CAMERAS[1], 25.0, 0.0, duration_s=1.0, moving=False)
    pair = offset_by_mutual_epipolar_consistency(a, b, FAST)
    assert not pair.ok and "no motion" in pair.reason


def _static_tracks(history: ImageHistory) -> TrackSet:
    """A few 2D tracks over the history's frames (the window the tracker would report)."""
    stamps = np.round(history.stamps_s * NS_PER_S).astype(np.int64)
    T, N = len(stamps), 12
    uv = np.broadcast_to(np.stack([np.linspace(10, 150, N), np.linspace(10, 110, N)], axis=-1), (T, N, 2))
    return TrackSet(history.model.name, np.arange(N), stamps, uv.astype(np.float32), np.ones((T, N), bool), None,
                    np.zeros((N, 4), np.float32), np.ones((T, N), np.float32))  # fmt: skip


def test_window_times_calibrated_rgb_pairs_by_epipolar_consistency(rig):
    windows = {"a": _static_tracks(rig.a), "b": _static_tracks(rig.b)}
    config = WindowSyncConfig(epipolar=FAST)
    result = estimate_window_offsets(windows, "a", config, {c.name: c for c in CAMERAS}, None, None,
                                     {"a": rig.a, "b": rig.b})  # fmt: skip
    assert result.pairs[0].ok, result.pairs[0].reason
    assert abs(result.measurements["b"].offset_s - 0.0731) < 0.1 / 30.0
    without_images = estimate_window_offsets(windows, "a", config, {c.name: c for c in CAMERAS})
    assert not without_images.pairs[0].ok  # the 2D matching path: static tracks carry no timing


@pytest.fixture(scope="module")
def room() -> tuple[dict[str, ImageHistory], dict]:
    """Image histories of three cameras around the synthetic room with six moving bodies
    (clock offsets of seconds with fractions, 30 and 25 fps), and their true clocks."""
    world = SyntheticWorld(SynthConfig(num_cameras=3, duration_s=6.0, seed=0, with_depth=False))
    histories = {c.name: ImageHistory(c, ImageHistoryConfig(window_s=6.0)) for c in world.cameras}
    for _, _, frame in world.frames_in_capture_order():
        histories[frame.camera].push(frame.stamp_ns, frame.rgb)
    return histories, world.clocks


def test_room_pairs_are_timed_to_a_fraction_of_a_frame_or_not_at_all(room):
    """Bodies seen from different sides, some only by one camera: every pair offset given is
    within a frame and within 3 stddev; and most pairs give one."""
    histories, clocks = room
    timed = 0
    for a, b in itertools.combinations(sorted(histories), 2):
        pair = offset_by_mutual_epipolar_consistency(histories[a], histories[b])
        if not pair.ok:
            continue
        timed += 1
        true_s = clocks[b].offset_at(pair.t_a_s) - clocks[a].offset_at(pair.t_a_s)
        error_frames = (pair.offset_s - true_s) / pair.frame_period_s
        assert abs(error_frames) < 1.0 and abs(pair.offset_s - true_s) <= 3.0 * pair.stddev_s, (a, b, error_frames, pair)
    assert timed >= 2


def test_correlation_from_sums_equals_the_correlation_of_centred_columns():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 7)) + rng.normal(size=7) * 3  # columns with their own offsets
    y = 0.6 * x + rng.normal(size=(50, 7)) + rng.normal(size=7) * 3
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    expected = (xc * yc).sum() / np.sqrt((xc * xc).sum() * (yc * yc).sum())
    assert _correlation_centred_per_plane(x, y) == pytest.approx(expected, rel=1e-12)
    assert _correlation_centred_per_plane(x, np.ones_like(x)) == 0.0  # constant columns carry no evidence
    assert _correlation_centred_per_plane(x[:0], y[:0]) == 0.0
