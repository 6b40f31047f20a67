"""``s4 bench --only pipeline``: the whole chain, real tracker to offsets, against ground truth.

Frames of a synthetic rig are pushed in capture order (as a recorder or a live rig delivers
them) through :class:`~s4_core.pipeline.StreamingPipeline`, the object every front end drives;
the final offsets are scored with :mod:`s4_core.synth.offset_scoring`. Timing covers the
pipeline only (the scene is rendered before), on this machine's cores. The same scenes without
depth (calibrated RGB-only cameras, timed by :mod:`s4_core.sync.epipolar_consistency`) get their
own accuracy rows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from s4_core.bench.harness import BenchContext, BenchRow, at_least, at_most
from s4_core.offsets import SyncState
from s4_core.pipeline import PipelineConfig, StreamingPipeline
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.synth.offset_scoring import OffsetScore, score_offsets


@dataclass(frozen=True)
class _Run:
    """One scene: scores of the non-reference cameras and where the time went."""

    scores: list[OffsetScore]
    fps: dict[str, float]
    recording_s: float
    pipeline_s: float
    estimate_s: list[float]


def run(ctx: BenchContext) -> list[BenchRow]:
    seeds = [ctx.seed] if ctx.quick else [ctx.seed + k for k in range(3)]
    duration_s = 6.0 if ctx.quick else 10.0
    runs = [_run_scene(SyntheticWorld(SynthConfig(num_cameras=4, duration_s=duration_s, seed=s))) for s in seeds]
    scene = f"synth 4 cams RGB-D 320x240 30/25 fps, {duration_s:g} s, seeds {seeds[0]}..{seeds[-1]}"
    rgb_runs = [
        _run_scene(SyntheticWorld(SynthConfig(num_cameras=4, duration_s=duration_s, seed=s, with_depth=False)))
        for s in seeds
    ]
    rgb_scene = f"synth 4 cams RGB-only calibrated 320x240 30/25 fps, {duration_s:g} s, seeds {seeds[0]}..{seeds[-1]}"
    others = [s for r in runs for s in r.scores]
    zero_errors = np.array([abs(s.true_offset_s) * r.fps[s.camera] for r in runs for s in r.scores])
    recording_s = sum(r.recording_s for r in runs)
    throughput = recording_s / sum(r.pipeline_s for r in runs)
    latency_s = float(np.median([t for r in runs for t in r.estimate_s]))
    return [
        *_accuracy_rows("pipeline", others, scene, max_mean_frames=0.05, max_max_frames=0.15),
        BenchRow("pipeline zero-offset (ApproximateTime) mean |error|", float(np.mean(zero_errors)), "frames", scene),
        BenchRow("pipeline throughput (recording s / wall s)", throughput, "x real time", scene, *at_least(throughput, 1.0)),
        BenchRow("pipeline latency, last frame of a window -> offsets", latency_s, "s", scene),
        *_accuracy_rows("pipeline RGB-only", [s for r in rgb_runs for s in r.scores], rgb_scene, 0.25, 0.5),
    ]  # fmt: skip


def _accuracy_rows(label: str, scores: list[OffsetScore], scene: str, max_mean_frames: float, max_max_frames: float) -> list[BenchRow]:
    """Locked share, mean and max |error| of the locked cameras, and how many lie within 3 stddev."""
    locked = [s for s in scores if s.state is SyncState.LOCKED]
    errors = np.array([abs(s.error_frames) for s in locked]) if locked else np.array([math.inf])
    covered = float(np.mean([s.within_3_sigma for s in locked])) if locked else 0.0
    locked_pct = 100.0 * len(locked) / len(scores)
    return [
        BenchRow(f"{label} cameras locked", locked_pct, "%", scene, *at_least(locked_pct, 100)),
        BenchRow(f"{label} s4 mean |offset error|", float(np.mean(errors)), "frames", scene, *at_most(float(np.mean(errors)), max_mean_frames)),
        BenchRow(f"{label} s4 max |offset error|", float(np.max(errors)), "frames", scene, *at_most(float(np.max(errors)), max_max_frames)),
        BenchRow(f"{label} |error| <= 3 stddev", 100.0 * covered, "%", scene, *at_least(100.0 * covered, 95)),
    ]  # fmt: skip


def _run_scene(world: SyntheticWorld) -> _Run:
    pipe = StreamingPipeline(PipelineConfig(), {c.name: c for c in world.cameras}, world.reference_camera)
    # Rendered up front: estimates run in the background, and would otherwise overlap rendering.
    frames = [frame for _, _, frame in world.frames_in_capture_order()]
    pipeline_s, estimate_s = 0.0, []
    pushed_at: dict[int, float] = {}  # reference frame stamp -> when its push began
    for frame in frames:
        start = time.perf_counter()
        if frame.camera == world.reference_camera:
            pushed_at[frame.stamp_ns] = start
        updates = pipe.add_frame(frame)
        end = time.perf_counter()
        pipeline_s += end - start
        estimate_s += [end - pushed_at[u.stamp_ns] for u in updates]
    start = time.perf_counter()
    pipe.finish()
    pipeline_s += time.perf_counter() - start
    fps = dict(zip(world.config.camera_names, world.config.resolved_fps()))
    clocks = {name: clock for name, clock in world.clocks.items() if name != world.reference_camera}
    scores = score_offsets(pipe.offsets(), clocks, fps)
    return _Run(scores, fps, world.config.duration_s, pipeline_s, estimate_s)
