"""Tracking benchmark: geometric backend accuracy against the synthetic ground truth, and speed.

Accuracy follows St4RTrack's protocol: points seeded at an anchor frame, tracked through a
window, compared with the true positions of the same material points (APD, EPE in metres; 2D
pixel error; occlusion accuracy). Throughput is the streaming tracker on pre-rendered frames,
asking for the window's tracks once per keyframe interval, as a live node would.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
import warnings

import numpy as np

from s4_core.bench.harness import BenchContext, BenchRow, at_least, at_most
from s4_core.frames import Frame
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.tracking import GeometricBackend, StreamingConfig, StreamingTracker
from s4_core.tracking.metrics import TrackScore, score_tracks


def score_geometric_window(world: SyntheticWorld, frames: list[Frame], camera_index: int, with_depth: bool) -> TrackScore:
    """Track ``frames`` (anchor first) with the geometric backend and score against the truth."""
    if not with_depth:
        frames = [dataclasses.replace(f, depth_m=None) for f in frames]
    tracks = GeometricBackend().track_window(frames)
    times = world.frame_times(camera_index)
    capture_s = times.capture_s[np.searchsorted(times.stamp_ns, [f.stamp_ns for f in frames])]
    truth = world.gt_tracks(camera_index, float(capture_s[0]), tracks.uv[0].astype(np.float64), capture_s)
    return score_tracks(tracks, truth, focal_px=float(world.cameras[camera_index].K[0, 0]))


def _mean_score(scores: list[TrackScore]) -> TrackScore:
    """Field-wise mean; fields that are NaN in every score (3D of RGB-only tracks) stay NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return TrackScore(*np.nanmean([dataclasses.astuple(s) for s in scores], axis=0).tolist())


def _throughput_fps(frames: list[Frame], config: StreamingConfig) -> float:
    tracker = StreamingTracker(frames[0].camera, config=config)
    start = time.perf_counter()
    for k, frame in enumerate(frames):
        tracker.push(frame)
        if (k + 1) % config.keyframe_interval_frames == 0:
            tracker.window_tracks()
    return len(frames) / (time.perf_counter() - start)


def run(ctx: BenchContext) -> list[BenchRow]:
    """Rows: 3D EPE and APD, depth-scaled APD, 2D errors, occlusion accuracy, throughput."""
    num_cameras, window, starts = (2, 16, (0,)) if ctx.quick else (4, 31, (0, 45))
    config = SynthConfig(num_cameras=4, duration_s=3.0, seed=ctx.seed)
    world = SyntheticWorld(config)
    scene = f"{num_cameras} cams 320x240 {window}-frame windows seed {ctx.seed}"
    depth_scores, rgb_scores, fps = [], [], []
    for i in range(num_cameras):
        frames = list(itertools.islice(world.frames(i), max(starts) + window))
        for s in starts:
            depth_scores.append(score_geometric_window(world, frames[s : s + window], i, with_depth=True))
            rgb_scores.append(score_geometric_window(world, frames[s : s + window], i, with_depth=False))
        fps.append(_throughput_fps(frames, StreamingConfig()))
    d, r = _mean_score(depth_scores), _mean_score(rgb_scores)
    fps_total = float(np.mean(fps))  # one process tracks any camera's frames at this rate
    rows = [
        BenchRow("tracking 3D EPE (geometric)", d.epe_3d_m, "m", scene, *at_most(d.epe_3d_m, 0.02)),
        BenchRow("tracking 3D APD St4RTrack (geometric)", d.apd_3d_percent, "%", scene, *at_least(d.apd_3d_percent, 90.0)),
        BenchRow("tracking 3D APD TAP-Vid-3D depth-scaled", d.apd_3d_depth_scaled_percent, "%", scene),
        BenchRow("tracking 3D coverage", d.coverage_3d, "fraction", scene),
        BenchRow("tracking 2D pixel error (with depth)", d.pixel_error_px, "px", scene),
        BenchRow("tracking occlusion accuracy", d.occlusion_accuracy, "fraction", scene),
        BenchRow("tracking 2D pixel error (RGB only)", r.pixel_error_px, "px", scene),
        BenchRow("tracking 2D PCK TAP-Vid (RGB only)", r.pck_2d_percent, "%", scene),
        BenchRow("tracking throughput (frames of any camera)", fps_total, "frames/s", "320x240, 2 cores", *at_least(fps_total, 120.0)),
        BenchRow("tracking real-time 30 fps cameras", fps_total / 30.0, "cameras", "320x240, 2 cores"),
    ]
    return rows
