"""Known-answer tests of the geometric backend on analytic scenes."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from s4_core.camera import look_at
from s4_core.tracking import DESCRIPTOR_DIM, FlowConfig, FlowMethod, GeometricBackend, GeometricConfig, TrackerBackend
from test_tracking_scenes import (
    SIZE_WH,
    occluded,
    occluder_frame,
    pinhole,
    translated_frame,
    translation_clip,
)

SHIFT = (0.6, -0.35)


def expected_uv(tracks, shift=SHIFT) -> np.ndarray:
    steps = np.arange(tracks.num_frames)[:, None, None]
    return tracks.uv[0][None] + steps * np.asarray(shift)[None, None]


@pytest.mark.parametrize(
    ("method", "median_px"), [(FlowMethod.LK_PYRAMID, 0.15), (FlowMethod.DIS_ULTRAFAST, 0.6), (FlowMethod.FARNEBACK, 0.3)]
)
def test_subpixel_translation_is_tracked_in_2d_and_3d(method: FlowMethod, median_px: float) -> None:
    backend = GeometricBackend(GeometricConfig(flow=FlowConfig(method=method)))
    tracks = backend.track_window(translation_clip(8, SHIFT))
    truth = expected_uv(tracks)  # 4.2 px of motion by the last frame
    inner = np.all((truth > 6) & (truth < np.array(SIZE_WH) - 7), axis=(0, 2))  # never near the border
    assert isinstance(backend, TrackerBackend)
    assert tracks.num_tracks > 40 and inner.sum() > 20
    assert tracks.visible[:, inner].mean() > 0.95
    err_px = np.linalg.norm(tracks.uv - truth, axis=-1)[tracks.visible & inner[None]]
    assert np.median(err_px) < median_px
    model = pinhole()
    truth_xyz = model.unproject(truth, np.full(truth.shape[:2], 2.0))
    err_m = np.linalg.norm(tracks.xyz - truth_xyz, axis=-1)[tracks.visible & inner[None]]
    assert np.median(err_m) < median_px * 2.0 / 100.0  # pixels at 2 m and f = 100 px
    assert tracks.world_frame == "world"


def test_3d_tracks_are_expressed_in_the_rig_world() -> None:
    world_from_camera = look_at(np.array([1.0, -2.0, 1.5]), np.zeros(3))
    model = pinhole(world_from_camera)
    tracks = GeometricBackend().track_window(translation_clip(4, SHIFT, model=model))
    truth_cam = pinhole().unproject(expected_uv(tracks), np.full((4, tracks.num_tracks), 2.0))
    truth_world = truth_cam @ world_from_camera[:3, :3].T + world_from_camera[:3, 3]
    ok = tracks.visible
    assert np.median(np.linalg.norm(tracks.xyz - truth_world, axis=-1)[ok]) < 0.003


def test_points_leaving_the_image_are_lost_for_good() -> None:
    shift = (3.0, 0.0)
    tracks = GeometricBackend().track_window(translation_clip(12, shift))
    truth = expected_uv(tracks, shift)
    outside = truth[..., 0] > SIZE_WH[0] - 1
    assert outside.any()
    assert not tracks.visible[outside].any()
    assert np.all(np.isnan(tracks.uv[~tracks.visible]))
    lost_before = np.logical_or.accumulate(~tracks.visible, axis=0)
    assert not np.any(lost_before & tracks.visible)  # a lost track never comes back
    far_inside = np.all(truth[..., 0] < SIZE_WH[0] - 10, axis=0) & np.all(truth[..., 0] > 8, axis=0)
    assert tracks.visible[:, far_inside].mean() > 0.95


@pytest.mark.parametrize(("with_depth", "max_wrongly_visible"), [(True, 0.25), (False, 0.7)])
def test_occluded_points_become_invisible(with_depth: bool, max_wrongly_visible: float) -> None:
    """A sliding occluder covers static background points.

    Known limitation, measured here: where a track stays "visible" under the occluder it was
    pushed ahead of the occluder's edge onto other background (a drift error, consistent
    forward-backward and in depth); it is never reported visible at the covered place itself.
    """
    frames = [occluder_frame(i, with_depth) for i in range(18)]
    tracks = GeometricBackend().track_window(frames)
    u0, v0 = tracks.uv[0, :, 0], tracks.uv[0, :, 1]
    background = ~occluded(u0, v0, 0, margin_px=4.0)
    covered = np.stack([occluded(u0, v0, i, margin_px=-1.0) for i in range(18)]) & background[None]
    clear = ~np.stack([occluded(u0, v0, i, margin_px=6.0) for i in range(18)]) & background[None]
    assert covered.sum() > 30
    assert tracks.visible[covered].mean() < max_wrongly_visible
    at_true_place = np.linalg.norm(tracks.uv - tracks.uv[0][None], axis=-1) < 1.0
    assert not np.any(covered & tracks.visible & at_true_place)
    assert tracks.visible[clear].mean() > 0.95


def test_invalid_depth_never_becomes_a_number() -> None:
    frames = translation_clip(5, SHIFT)
    bad = frames[0].depth_m.copy()
    bad[10:20, 10:20] = np.nan
    bad[10:20, 40:50] = np.inf
    bad[40:50, 10:20] = 0.0
    bad[40:50, 40:50] = -1.0
    frames[2] = type(frames[2])(frames[2].camera, frames[2].stamp_ns, frames[2].rgb, bad, frames[2].model)
    queries = np.array([[15.0, 15.0], [45.0, 15.0], [15.0, 45.0], [45.0, 45.0], [70.0, 30.0]], np.float32)
    tracks = GeometricBackend().track_window(frames, queries)
    assert np.all(np.isfinite(tracks.xyz).all(axis=-1) == tracks.visible)
    assert not tracks.visible[2, :4].any()
    assert tracks.visible[2, 4]
    assert np.all(tracks.confidence[~tracks.visible] == 0)


def test_seeded_queries_avoid_invalid_depth() -> None:
    frames = translation_clip(2, SHIFT)
    depth = frames[0].depth_m.copy()
    depth[:, : SIZE_WH[0] // 2] = np.nan
    anchor = type(frames[0])("cam", frames[0].stamp_ns, frames[0].rgb, depth, frames[0].model)
    tracks = GeometricBackend().track_window([anchor, frames[1]])
    assert tracks.num_tracks > 10
    assert np.all(tracks.uv[0, :, 0] >= SIZE_WH[0] // 2)


def test_depth_without_model_tracks_in_2d_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    frames = [translated_frame(i, SHIFT, depth_m=2.0, model=None) for i in range(4)]
    with caplog.at_level(logging.WARNING):
        tracks = GeometricBackend().track_window(frames)
    assert tracks.xyz is None and tracks.world_frame == ""
    assert "no camera model" in caplog.text
    assert tracks.visible.mean() > 0.9


def test_rgb_only_gives_uv_tracks_and_descriptors() -> None:
    tracks = GeometricBackend().track_window(translation_clip(6, SHIFT, with_depth=False))
    assert tracks.xyz is None and not tracks.has_3d
    assert tracks.descriptors.shape == (tracks.num_tracks, DESCRIPTOR_DIM)
    assert np.all(np.isfinite(tracks.descriptors))
    err = np.linalg.norm(tracks.uv - expected_uv(tracks), axis=-1)[tracks.visible]
    assert np.median(err) < 0.15


def test_each_frame_pair_is_tracked_once_when_the_window_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = GeometricBackend()
    calls = []
    real_track = backend._flow.track
    monkeypatch.setattr(backend._flow, "track", lambda *a: calls.append(1) or real_track(*a))
    frames = translation_clip(7, SHIFT)
    growing = [backend.track_window(frames[: n + 1]) for n in range(len(frames))]
    assert len(calls) == len(frames) - 1
    fresh = GeometricBackend().track_window(frames)
    np.testing.assert_array_equal(growing[-1].uv, fresh.uv)


def test_window_arguments_are_checked() -> None:
    frames = translation_clip(3, SHIFT)
    with pytest.raises(ValueError):
        GeometricBackend().track_window([])
    with pytest.raises(ValueError):
        GeometricBackend().track_window([frames[1], frames[0]])
    with pytest.raises(ValueError):
        GeometricBackend().track_window(frames, np.zeros((3, 3)))
