"""Geometric backend and streaming tracker scored against the synthetic world's ground truth."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from s4_core.bench.tracking_bench import score_geometric_window
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.tracking import StreamingConfig, StreamingTracker


@pytest.fixture(scope="module")
def world_and_frames():
    world = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=0.8, size_wh=(160, 120), seed=3))
    return world, list(itertools.islice(world.frames(1), 16))


def test_3d_tracks_meet_the_st4rtrack_style_targets(world_and_frames) -> None:
    world, frames = world_and_frames
    score = score_geometric_window(world, frames, 1, with_depth=True)
    assert score.epe_3d_m < 0.03
    assert score.apd_3d_percent > 85.0
    assert score.occlusion_accuracy > 0.85
    assert score.coverage_3d > 0.8


def test_rgb_only_tracks_are_accurate_in_the_image(world_and_frames) -> None:
    world, frames = world_and_frames
    score = score_geometric_window(world, frames, 1, with_depth=False)
    assert np.isnan(score.epe_3d_m)
    assert score.pixel_error_px < 1.0
    assert score.pck_2d_percent > 80.0


def test_streaming_window_on_the_synthetic_rig(world_and_frames) -> None:
    world, frames = world_and_frames
    tracker = StreamingTracker(frames[0].camera, config=StreamingConfig(window_frames=12, keyframe_interval_frames=5))
    for f in frames:
        tracker.push(f)
    tracks = tracker.window_tracks()
    assert tracks.num_frames == 12 and tracks.num_tracks > 50
    # xyz is in the rig world: every visible 3D point reprojects onto its pixel through the rig camera
    camera = world.cameras[1]
    uv, depth = camera.project(tracks.xyz[tracks.visible].astype(np.float64))
    assert np.median(np.linalg.norm(uv - tracks.uv[tracks.visible], axis=-1)) < 1e-3
    assert np.all(depth > 0)
