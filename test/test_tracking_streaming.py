"""Streaming tracker: windows, anchors and stitched ids, bad input."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from s4_core.frames import Frame
from s4_core.tracking import DESCRIPTOR_DIM, FrameVerdict, StreamingConfig, StreamingTracker, track_clip
from test_tracking_scenes import FRAME_DT_NS, SIZE_WH, translated_frame, translation_clip

SHIFT = (0.5, 0.3)


def test_ids_continue_across_anchors_and_follow_the_motion() -> None:
    frames = translation_clip(16, SHIFT)
    tracker = StreamingTracker("cam", config=StreamingConfig(window_frames=30, keyframe_interval_frames=5))
    verdicts = [tracker.push(f) for f in frames]
    assert [i for i, v in enumerate(verdicts) if v is FrameVerdict.KEYFRAME] == [0, 5, 10, 15]
    tracks = tracker.window_tracks()
    assert tracks.num_frames == 16
    whole = tracks.visible.all(axis=0)  # tracks seen in every frame, across 3 re-anchors
    assert whole.sum() > 30
    drift = tracks.uv[-1, whole] - tracks.uv[0, whole] - 15 * np.asarray(SHIFT)
    assert np.median(np.linalg.norm(drift, axis=1)) < 0.5  # 7.5 px travelled
    first_ids = tracker.window_tracks().track_ids[tracks.visible[0]]
    assert len(np.intersect1d(first_ids, tracks.track_ids[tracks.visible[-1]])) > 30
    assert tracks.descriptors.shape == (tracks.num_tracks, DESCRIPTOR_DIM) and np.isfinite(tracks.descriptors).all()
    assert tracks.has_3d and tracks.world_frame == "world"


def test_new_tracks_fill_only_uncovered_grid_cells() -> None:
    tracker = StreamingTracker("cam", config=StreamingConfig(keyframe_interval_frames=4))
    counts = []
    for frame in translation_clip(17, SHIFT):
        tracker.push(frame)
        counts.append(tracker.window_tracks().num_tracks)
    assert max(counts) < 1.6 * counts[1]  # ids do not pile up anchor after anchor


def test_window_is_limited_in_frames_and_in_seconds() -> None:
    frames = translation_clip(12, SHIFT)
    by_frames = StreamingTracker("cam", config=StreamingConfig(window_frames=5, keyframe_interval_frames=3))
    by_time = StreamingTracker("cam", config=StreamingConfig(window_frames=None, window_s=0.1, keyframe_interval_frames=3))
    for f in frames:
        by_frames.push(f)
        by_time.push(f)
    np.testing.assert_array_equal(by_frames.window_tracks().stamps_ns, [f.stamp_ns for f in frames[-5:]])
    span_ns = np.ptp(by_time.window_tracks().stamps_ns)
    assert span_ns <= 100_000_000 and span_ns > 100_000_000 - FRAME_DT_NS


def test_flow_is_computed_once_per_new_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = StreamingTracker("cam", config=StreamingConfig(window_frames=8, keyframe_interval_frames=4))
    calls = []
    real_track = tracker.backend._flow.track
    monkeypatch.setattr(tracker.backend._flow, "track", lambda *a: calls.append(1) or real_track(*a))
    frames = translation_clip(14, SHIFT)
    for f in frames:
        tracker.push(f)
        tracker.window_tracks()
    assert len(calls) == len(frames) - 1


def test_track_clip_matches_streaming_over_the_whole_clip() -> None:
    frames = translation_clip(9, SHIFT, with_depth=False)
    config = StreamingConfig(window_frames=4, keyframe_interval_frames=3)
    clip = track_clip(frames, config=config)
    tracker = StreamingTracker("cam", config=dataclasses.replace(config, window_frames=None))
    for f in frames:
        tracker.push(f)
    streamed = tracker.window_tracks()
    assert clip.num_frames == 9 and not clip.has_3d
    np.testing.assert_array_equal(clip.track_ids, streamed.track_ids)
    np.testing.assert_array_equal(clip.uv, streamed.uv)


def test_repeated_and_backwards_stamps_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    frames = translation_clip(4, SHIFT)
    tracker = StreamingTracker("cam")
    tracker.push(frames[0])
    tracker.push(frames[2])
    with caplog.at_level(logging.WARNING):
        assert tracker.push(frames[2]) is FrameVerdict.SKIPPED_STAMP
        assert tracker.push(frames[1]) is FrameVerdict.SKIPPED_STAMP
    assert "not after the previous" in caplog.text
    assert tracker.health().skipped_stamp == 2 and tracker.health().accepted == 2
    np.testing.assert_array_equal(tracker.window_tracks().stamps_ns, [frames[0].stamp_ns, frames[2].stamp_ns])


def test_size_change_restarts_the_stream_without_reusing_ids(caplog: pytest.LogCaptureFixture) -> None:
    tracker = StreamingTracker("cam")
    for f in translation_clip(3, SHIFT):
        tracker.push(f)
    old_ids = tracker.window_tracks().track_ids
    small = translated_frame(3, SHIFT, size_wh=(80, 60), model=None, depth_m=None)
    with caplog.at_level(logging.WARNING):
        assert tracker.push(small) is FrameVerdict.RESTARTED
    assert "size changed" in caplog.text
    tracker.push(translated_frame(4, SHIFT, size_wh=(80, 60), model=None, depth_m=None))
    tracks = tracker.window_tracks()
    assert tracks.num_frames == 2 and tracks.num_tracks > 10 and not tracks.has_3d
    assert tracks.track_ids.min() > old_ids.max()
    assert tracker.health().restarts == 1


def test_frozen_camera_is_flagged_and_its_repeats_skipped(caplog: pytest.LogCaptureFixture) -> None:
    frames = translation_clip(3, SHIFT)
    tracker = StreamingTracker("cam")
    tracker.push(frames[0])
    repeat = Frame("cam", frames[1].stamp_ns, frames[0].rgb.copy(), frames[0].depth_m, frames[0].model)
    with caplog.at_level(logging.WARNING):
        assert tracker.push(repeat) is FrameVerdict.SKIPPED_FROZEN
    assert tracker.health().frozen and "frozen" in caplog.text
    assert tracker.window_tracks().num_frames == 1  # no fake zero-motion frame
    assert tracker.push(frames[2]) is FrameVerdict.ACCEPTED
    assert not tracker.health().frozen and tracker.health().skipped_frozen == 1


def test_empty_window_and_wrong_camera() -> None:
    tracker = StreamingTracker("cam")
    empty = tracker.window_tracks()
    assert empty.num_frames == 0 and empty.num_tracks == 0
    other = dataclasses.replace(translated_frame(0, SHIFT), camera="other")
    with pytest.raises(ValueError, match="other"):
        tracker.push(other)


def test_bad_depth_mid_stream_is_never_a_number() -> None:
    frames = translation_clip(6, SHIFT)
    broken = frames[3].depth_m.copy()
    broken[::2] = np.nan
    broken[1::2, ::2] = -1.0
    frames[3] = dataclasses.replace(frames[3], depth_m=broken)
    tracker = StreamingTracker("cam", config=StreamingConfig(keyframe_interval_frames=3))
    for f in frames:
        tracker.push(f)
    tracks = tracker.window_tracks()
    assert not tracks.visible[3].any() and np.isnan(tracks.xyz[3]).all()
    assert np.array_equal(np.isfinite(tracks.xyz).all(-1), tracks.visible)
    assert tracks.visible[4:].mean() > 0.8


def test_config_is_checked() -> None:
    with pytest.raises(ValueError):
        StreamingConfig(window_frames=1)
    with pytest.raises(ValueError):
        StreamingConfig(keyframe_interval_frames=0)
    assert SIZE_WH[0] > 0
