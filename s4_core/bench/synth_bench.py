"""Bench suite ``synth``: how fast the synthetic world renders and records, and how exact its
ground truth is (everything else in s4 is measured against it)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from s4_core.bench.harness import BenchContext, BenchRow, at_least, at_most
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.synth.bag import write_bag

#: Size the throughput targets are stated for.
BENCH_SIZE_WH = (320, 240)


def run(ctx: BenchContext) -> list[BenchRow]:
    """Render and recording throughput at 320x240, then ground-truth self-consistency."""
    num_cameras = 2 if ctx.quick else 4
    world = SyntheticWorld(SynthConfig(num_cameras=num_cameras, duration_s=2.0, seed=ctx.seed, size_wh=BENCH_SIZE_WH))
    scene = f"{num_cameras} cams {BENCH_SIZE_WH[0]}x{BENCH_SIZE_WH[1]} seed {ctx.seed}"
    return [
        _render_throughput(world, 12 if ctx.quick else 60, scene),
        _recording_throughput(ctx, num_cameras),
        *_ground_truth_consistency(world, 500 if ctx.quick else 5000, scene),
    ]


def _render_throughput(world: SyntheticWorld, num_frames: int, scene: str) -> BenchRow:
    """Noiseless RGB + depth + surface ids per second, round-robin over the cameras."""
    for i in range(len(world.cameras)):  # per-camera background caches are built once
        world.render(i, world.t0_s)
    times_s = world.t0_s + np.linspace(0.0, world.config.duration_s, num_frames, endpoint=False)
    start = time.perf_counter()
    for k, t_s in enumerate(times_s):
        world.render(k % len(world.cameras), float(t_s))
    fps = num_frames / (time.perf_counter() - start)
    target, met = at_least(fps, 20.0)
    return BenchRow("synth render throughput", fps, "frames/s", f"{scene}, {num_frames} frames", target, met)


def _recording_throughput(ctx: BenchContext, num_cameras: int) -> BenchRow:
    """Frames per second through the whole recorder: render, noise, CDR, mcap with depth."""
    duration_s = 0.5 if ctx.quick else 2.0
    world = SyntheticWorld(
        SynthConfig(num_cameras=num_cameras, duration_s=duration_s, seed=ctx.seed, size_wh=BENCH_SIZE_WH)
    )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = write_bag(world, Path(tmp) / "bench", storage="mcap")
        elapsed_s = time.perf_counter() - start
    num_frames = sum(summary.frames_per_camera.values())
    fps = num_frames / elapsed_s
    target, met = at_least(fps, 15.0)
    scene = f"{num_cameras} cams {BENCH_SIZE_WH[0]}x{BENCH_SIZE_WH[1]} {duration_s:g} s mcap+depth"
    return BenchRow("synth bag recording throughput", fps, "frames/s", scene, target, met)


def _ground_truth_consistency(world: SyntheticWorld, num_points: int, scene: str) -> list[BenchRow]:
    """Reprojection of traced points, rendered depth vs. GT positions, retrace of GT tracks."""
    rng = np.random.default_rng(world.config.seed)
    camera = world.cameras[0]
    t_s = world.t0_s + 0.5 * world.config.duration_s
    uv = rng.uniform([-0.5, -0.5], [camera.width - 0.5, camera.height - 0.5], (num_points, 2))
    points = world.trace_pixels(0, t_s, uv)
    reprojected, _ = camera.project(world.positions(points, t_s))
    reprojection_px = float(np.max(np.abs(reprojected - uv)))

    view = world.render(0, t_s)
    _, depth_m = camera.project(world.positions(view.surface, t_s))
    depth_error_m = float(np.max(np.abs(depth_m - view.depth_m)))

    later_s = t_s + 0.25 * world.config.duration_s
    tracks = world.gt_tracks(0, t_s, uv, np.array([later_s]))
    seen = tracks.visible[0]
    retraced = world.trace_pixels(0, later_s, tracks.uv[0][seen])
    agreement = float(np.mean(retraced.same_as(points[seen], tolerance_m=1e-6))) if seen.any() else float("nan")
    figures = (
        ("synth GT reprojection error (max)", reprojection_px, "px", at_most(reprojection_px, 1e-6)),
        ("synth GT depth vs render (max)", depth_error_m, "m", at_most(depth_error_m, 1e-4)),
        ("synth GT track retrace agreement", agreement, "fraction", at_least(agreement, 0.999)),
    )
    return [
        BenchRow(name, value, unit, f"{scene}, {num_points} px", target, met)
        for name, value, unit, (target, met) in figures
    ]
