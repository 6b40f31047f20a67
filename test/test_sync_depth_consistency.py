"""Timing calibrated RGB-D cameras from the consistency of their moving geometry."""

from __future__ import annotations

import numpy as np
import pytest

from s4_core.camera import PinholeCamera, intrinsics_from_fov
from s4_core.sync.depth_consistency import offset_by_mutual_depth_consistency
from s4_core.sync.depth_history import DepthHistory, DepthHistoryConfig
from s4_core.tracking.streaming import StreamingConfig, StreamingTracker


def _camera(width: int = 40, height: int = 30) -> PinholeCamera:
    return PinholeCamera("cam", width, height, intrinsics_from_fov(width, height, 60.0))


def test_background_is_the_median_and_only_what_passes_in_front_is_dynamic():
    history = DepthHistory(_camera(), DepthHistoryConfig(min_background_frames=5))
    for k in range(12):
        depth = np.full((30, 40), 3.0, np.float32)
        if k < 3:
            depth[10:20, 10:20] = 1.0  # an object passes in front during 3 of 12 frames
        depth[0, 0] = np.nan  # a pixel that never measures
        history.push(1_000_000_000 + k * 33_000_000, depth)
    np.testing.assert_allclose(history.background()[1:, 1:], 3.0)
    assert np.isnan(history.background()[0, 0])
    expected = np.zeros((30, 40), bool)
    expected[10:20, 10:20] = True
    np.testing.assert_array_equal(history.dynamic_mask(1), expected)
    assert not history.dynamic_mask(5).any()
    uv = np.array([[15.0, 15.0], [30.0, 5.0], [np.nan, np.nan]])
    np.testing.assert_array_equal(history.is_dynamic_at(uv, np.array([1.0, 1.0, 1.0])), [True, True, False])
    np.testing.assert_array_equal(history.is_dynamic_at(uv, np.array([2.99, 3.0, 1.0])), [False, False, False])


@pytest.mark.parametrize(("width", "stride"), [(40, 1), (320, 1), (321, 2), (640, 2), (1280, 4)])
def test_depth_is_kept_at_most_max_width_px_wide(width, stride):
    history = DepthHistory(_camera(width, width * 3 // 4), DepthHistoryConfig(max_width_px=320))
    assert history.stride_px == stride and history.model.width == -(-width // stride) <= 320
    history.push(1, np.full((width * 3 // 4, width), 2.0, np.float32))
    assert history.depth(0).shape == (history.model.height, history.model.width)


def test_background_needs_enough_frames():
    history = DepthHistory(_camera(), DepthHistoryConfig(min_background_frames=5))
    history.push(1, np.full((30, 40), 2.0, np.float32))
    assert history.background() is None
    assert not history.dynamic_mask(0).any()


def _tracked_windows(world) -> tuple[dict, dict]:
    """Every camera's tracks and depth history over the whole (short) synthetic recording."""
    tracks, histories = {}, {}
    for i, camera in enumerate(world.cameras):
        tracker = StreamingTracker(camera.name, config=StreamingConfig(window_frames=None, window_s=6.0))
        history = DepthHistory(camera, DepthHistoryConfig(window_s=6.0))
        for frame in world.frames(i):
            tracker.push(frame)
            history.push(frame.stamp_ns, frame.depth_m)
        tracks[camera.name], histories[camera.name] = tracker.window_tracks(), history
    return tracks, histories


@pytest.mark.slow
def test_known_offset_of_two_synthetic_rgbd_cameras_is_recovered_honestly():
    from s4_core.synth import SynthConfig, SyntheticWorld

    config = SynthConfig(num_cameras=2, duration_s=4.0, seed=3, size_wh=(320, 240), offsets_s=(0.0, 0.4137),
                         drift_ppm=(0.0, 0.0), fps=(30.0, 25.0))  # fmt: skip
    world = SyntheticWorld(config)
    tracks, histories = _tracked_windows(world)
    pair = offset_by_mutual_depth_consistency(tracks["cam0"], histories["cam0"], tracks["cam1"], histories["cam1"])
    assert pair.ok, pair.reason
    error_s = pair.offset_s - 0.4137
    assert abs(error_s) < 0.5 / 30.0, pair  # within half a frame of the faster camera
    assert abs(error_s) <= 3.0 * pair.stddev_s, pair


def test_a_static_scene_gives_no_offset():
    camera = _camera()
    histories = []
    for name in ("a", "b"):
        history = DepthHistory(PinholeCamera(name, 40, 30, camera.K), DepthHistoryConfig(min_background_frames=5))
        for k in range(20):
            history.push(1_000_000_000 + k * 33_000_000, np.full((30, 40), 3.0, np.float32))
        histories.append(history)
    T, N = 20, 5
    uv = np.tile(np.array([[5.0, 5.0], [10, 10], [20, 20], [30, 25], [35, 5]], np.float32), (T, 1, 1))
    xyz = np.broadcast_to(camera.unproject(uv[0].astype(float), np.full(N, 3.0)), (T, N, 3)).astype(np.float32)
    from s4_core.tracks import TrackSet

    def tracks(name):
        return TrackSet(name, np.arange(N), 1_000_000_000 + np.arange(T) * 33_000_000, uv, np.ones((T, N), bool),
                        xyz, np.zeros((N, 1), np.float32), np.ones((T, N), np.float32), "world")  # fmt: skip

    pair = offset_by_mutual_depth_consistency(tracks("a"), histories[0], tracks("b"), histories[1])
    assert not pair.ok and "no moving points" in pair.reason


def test_target_frames_are_built_once_per_window_and_follow_new_frames():
    from s4_core.sync.depth_consistency import DepthTimingCache

    history = DepthHistory(_camera(), DepthHistoryConfig(min_background_frames=5))
    for k in range(6):
        history.push(1_000_000_000 + k * 33_000_000, np.full((30, 40), 3.0 - 0.1 * k, np.float32))
    with DepthTimingCache() as cache:
        first = cache.target_frames(history, max_frames=80)
        assert cache.target_frames(history, max_frames=80) is first
    history.push(1_200_000_000, np.full((30, 40), 1.0, np.float32))
    with DepthTimingCache() as cache:
        again = cache.target_frames(history, max_frames=80)
    assert again is not first and len(again.stamps_s) == 7
    assert np.all(again.surface_m[again.slots[-1], ..., 1] == 1.0)  # the nearest depth


def test_successive_estimates_prepare_only_the_frames_they_have_not_seen():
    """Target frames lie on a grid of serial numbers that stays put as the window slides, so an
    estimate reuses the prepared frames the last one left and prepares just the new ones."""
    from s4_core.sync import near_surfaces
    from s4_core.sync.depth_consistency import DepthTimingCache

    history = DepthHistory(_camera(), DepthHistoryConfig(window_s=1.0, min_background_frames=5))
    prepared = []
    original = near_surfaces.near_surface

    def counting(depth_m, out):
        prepared.append(float(depth_m[0, 0]))
        original(depth_m, out)

    def estimate(frames):
        for k in frames:
            history.push(1_000_000_000 + k * 100_000_000, np.full((30, 40), 1.0 + k, np.float32))
        prepared.clear()
        with DepthTimingCache() as cache:
            target = cache.target_frames(history, max_frames=4)
        return target, sorted(prepared)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(near_surfaces, "near_surface", counting)
        # 10 frames, 4 asked for: a grid of stride 10 / 4 = 2.5 chooses serials 0, 3, 5, 8
        target, first = estimate(range(10))
        assert first == [1.0, 4.0, 6.0, 9.0]
        target, second = estimate(range(10, 15))  # serials 4-14 are in the window: 5, 8, 10, 13
        assert second == [11.0, 14.0]
    np.testing.assert_allclose(target.stamps_s, [1.5, 1.8, 2.0, 2.3])
    np.testing.assert_array_equal(target.surface_m[target.slots, 0, 0, 0], [6.0, 9.0, 11.0, 14.0])


def test_an_overlapping_estimate_prepares_its_own_frames_and_leaves_the_leased_ones_alone():
    from s4_core.sync.depth_consistency import DepthTimingCache

    history = DepthHistory(_camera(), DepthHistoryConfig(window_s=1.0, min_background_frames=5))
    for k in range(4):
        history.push(1_000_000_000 + k * 100_000_000, np.full((30, 40), 1.0 + k, np.float32))
    with DepthTimingCache() as running:
        leased = running.target_frames(history, max_frames=4)
        history.push(1_400_000_000, np.full((30, 40), 9.0, np.float32))
        with DepthTimingCache() as overlapping:
            own = overlapping.target_frames(history, max_frames=4)
        assert own.surface_m is not leased.surface_m and own.surface_m is not history.surfaces._table
        np.testing.assert_array_equal(leased.surface_m[leased.slots, 0, 0, 0], [1.0, 2.0, 3.0, 4.0])
    with DepthTimingCache() as next_one:  # the lease was given back
        assert next_one.target_frames(history, max_frames=4).surface_m is history.surfaces._table


def test_a_snapshot_keeps_its_frames_and_background_while_the_history_slides_on():
    """An estimate runs on a snapshot while the live history takes the next frames."""
    history = DepthHistory(_camera(), DepthHistoryConfig(window_s=0.2, min_background_frames=5))
    for k in range(7):
        history.push(1_000_000_000 + k * 33_000_000, np.full((30, 40), 3.0, np.float32))
    snapshot = history.snapshot()
    stamps_s, background = snapshot.stamps_s.copy(), snapshot.background().copy()
    for k in range(7, 14):  # replaces every frame of the live window, all nearer
        history.push(1_000_000_000 + k * 33_000_000, np.full((30, 40), 1.0, np.float32))
    np.testing.assert_array_equal(snapshot.stamps_s, stamps_s)
    np.testing.assert_array_equal(snapshot.background(), background)
    assert np.all(snapshot.depth(-1) == 3.0)
    assert history.stamps_s[0] > stamps_s[-1] and np.all(history.background() == 1.0)


@pytest.mark.slow
def test_a_window_timed_on_several_threads_equals_the_serial_estimate():
    """Pairs are timed concurrently (shared target frames, lazily built backgrounds): the
    result must not depend on the thread count, and must be right."""
    from dataclasses import replace

    from s4_core.synth import SynthConfig, SyntheticWorld
    from s4_core.sync.window import WindowSyncConfig, estimate_window_offsets

    offsets_s = (0.0, 0.4137, -0.2521)
    config = SynthConfig(num_cameras=3, duration_s=4.0, seed=5, size_wh=(320, 240), offsets_s=offsets_s,
                         drift_ppm=(0.0, 0.0, 0.0), fps=(30.0, 25.0, 30.0))  # fmt: skip
    world = SyntheticWorld(config)
    tracks, histories = _tracked_windows(world)

    def estimate(parallel: bool):
        return estimate_window_offsets(tracks, "cam0", replace(WindowSyncConfig(), parallel=parallel),
                                       depth_histories=histories)  # fmt: skip

    threaded = estimate(True)  # first, so that the threads also race to build the backgrounds
    serial = estimate(False)
    assert [(p.offset_s, p.stddev_s, p.ok) for p in serial.pairs] == [(p.offset_s, p.stddev_s, p.ok) for p in threaded.pairs]
    assert serial.measurements == threaded.measurements
    for name, true_offset_s in zip(("cam1", "cam2"), offsets_s[1:]):
        assert name in serial.measurements, serial.reasons
        error_s = serial.measurements[name].offset_s - true_offset_s
        assert abs(error_s) < 0.5 / 30.0 and abs(error_s) <= 3.0 * serial.measurements[name].stddev_s


def test_track_groups_split_each_frames_moving_segments_between_them():
    from s4_core.sync.depth_consistency import _MovingSegments
    from s4_core.sync.offset_search import Subsample

    rng = np.random.default_rng(2)
    frame = np.sort(rng.integers(0, 9, 200))  # segments grouped by their first frame, 10 frames
    track = rng.integers(0, 50, 200)
    start = rng.normal(size=(200, 3))
    moving = _MovingSegments.stacked(np.arange(10) / 30.0, frame, track, start, start + 0.01, 3)
    assert moving.num_segments == 200
    for k in range(9):
        every = moving.first[0, k + 1] - moving.first[0, k]
        per_group = []
        for g in range(3):
            row = moving.row(Subsample(group=(g, 3)))
            lo, hi = moving.first[row, k], moving.first[row, k + 1]
            per_group.append(hi - lo)
            np.testing.assert_array_equal(np.sort(moving.start[lo:hi], axis=0),
                                          np.sort(start[(frame == k) & (track % 3 == g)], axis=0))  # fmt: skip
        assert sum(per_group) == every == np.count_nonzero(frame == k)
    with pytest.raises(ValueError):
        moving.row(Subsample(group=(0, 4)))
