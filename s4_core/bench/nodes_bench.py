"""``s4 bench --only nodes``: the ROS 2 node set on a live 4-camera rig, from the outside.

A publisher process streams a synthetic RGB-D rig (4 cameras, 320x240, 30 fps each, offsets of
up to seconds from the seed, no drift so the looped recording keeps its true offsets) in real
time; the all-in-one runs with the shipped parameters (``config/s4.yaml``: geometric backend,
8-s windows, splats on) in its own process, then the distributed variant (a tracker process
per camera, the sync and the splat node) with the same parameters. The all-in-one run doubles
as the soak test: 60 s (15 s with ``--quick``) during which the node's memory is sampled. How
each figure is taken is in :mod:`s4_ros.node_set_probe`; ROS is imported only when the suite
runs (s4_core never imports rclpy at import time).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import yaml

from s4_core.bench.harness import BenchContext, BenchRow, at_least, at_most
from s4_core.offsets import SyncState
from s4_core.synth.offset_scoring import score_offsets

#: Windows fill within ~10 s (8-s track and depth windows); memory growth is judged after this.
SETTLED_S = 20.0


def run(ctx: BenchContext) -> list[BenchRow]:
    run_s = 15.0 if ctx.quick else 60.0
    return [*_all_in_one_rows(ctx.seed, run_s), *_distributed_rows(ctx.seed, run_s)]


def _run(seed: int, run_s: float, distributed: bool):
    from s4_ros.node_set_probe import REPO_ROOT, NodeSetScenario, run_node_set  # lazy: needs rclpy

    synth = {"num_cameras": 4, "size_wh": [320, 240], "fps": [30.0] * 4, "duration_s": 8.0, "seed": seed,
             "offsets_s": None, "drift_ppm": [0.0] * 4}  # fmt: skip
    parameters = yaml.safe_load((REPO_ROOT / "config" / "s4.yaml").read_text())
    with tempfile.TemporaryDirectory(prefix="s4_nodes_bench_") as tmp:
        return run_node_set(NodeSetScenario(synth, run_s, parameters, distributed), Path(tmp))


def _all_in_one_rows(seed: int, run_s: float) -> list[BenchRow]:
    result = _run(seed, run_s, distributed=False)
    scene = f"all-in-one, synth 4 cams RGB-D 320x240 4x30 fps, {run_s:g} s live, seed {seed}, config/s4.yaml"
    offered_fps = result.sent_frames / run_s
    processed_fps = result.queue.get("queue_taken", 0) / run_s
    latency = float(np.median(result.latencies_s)) if result.latencies_s else math.nan
    latency_max = float(np.max(result.latencies_s)) if result.latencies_s else math.nan
    peak, capacity = result.queue.get("queue_peak_pending", -1), result.queue.get("queue_capacity", 0)
    rss_start, rss_end = result.rss_at(10.0), result.rss_at(run_s)
    slope = result.rss_slope_mb_per_min(min(SETTLED_S, run_s / 2))
    return [
        BenchRow("nodes frames offered", offered_fps, "frames/s", scene),
        BenchRow("nodes frames processed by the pipeline", processed_fps, "frames/s", scene),
        _real_time_row("nodes frames processed, share of those offered", processed_fps, offered_fps, scene),
        BenchRow("nodes frames dropped by the queue", _dropped_percent(result.queue), "%", scene),
        BenchRow("nodes peak pending frames (cap)", float(peak), f"frames (cap {capacity})", scene, *at_most(peak, capacity)),
        BenchRow("nodes latency, last reference frame -> ClockOffsetArray (median)", latency, "s", scene),
        BenchRow("nodes latency, last reference frame -> ClockOffsetArray (max)", latency_max, "s", scene),
        BenchRow("nodes estimates seen", float(len(result.latencies_s)), "", scene),
        *_offset_rows("nodes", result, scene),
        BenchRow("nodes RSS at 10 s", rss_start, "MB", scene),
        BenchRow(f"nodes RSS at {run_s:g} s", rss_end, "MB", scene),
        BenchRow(f"nodes RSS slope after {min(SETTLED_S, run_s / 2):g} s", slope, "MB/min", scene),
    ]  # fmt: skip


def _distributed_rows(seed: int, run_s: float) -> list[BenchRow]:
    """The distributed variant on the same rig: each tracker is its own process (no shared GIL),
    all on the same 2 cores as the publisher."""
    result = _run(seed, run_s, distributed=True)
    scene = f"4 tracker processes + sync + splat, synth 4 cams RGB-D 320x240 4x30 fps, {run_s:g} s live, seed {seed}, config/s4.yaml"
    tracked_fps = result.queue.get("queue_taken", 0) / run_s
    offered_fps = result.sent_frames / run_s
    return [
        BenchRow("nodes distributed: frames tracked", tracked_fps, "frames/s", scene),
        _real_time_row("nodes distributed: frames tracked, share of those offered", tracked_fps, offered_fps, scene),
        BenchRow("nodes distributed: frames dropped by the tracker queues", _dropped_percent(result.queue), "%", scene),
        *_offset_rows("nodes distributed:", result, scene),
        BenchRow(f"nodes distributed: RSS of all nodes at {run_s:g} s", result.rss_at(run_s), "MB", scene),
    ]  # fmt: skip


def _real_time_row(name: str, done_fps: float, offered_fps: float, scene: str) -> BenchRow:
    """Real time is keeping up with the frames the cameras send: the target is 95 % of them,
    which leaves room for the first second (the node takes frames only once every camera's
    calibration came) and the last diagnostics period (up to a second old when the run ends)."""
    share = 100.0 * done_fps / max(offered_fps, 1e-9)
    return BenchRow(name, share, "%", scene, *at_least(share, 95.0))


def _dropped_percent(queue: dict[str, int]) -> float:
    return 100.0 * queue.get("queue_dropped", 0) / max(1, queue.get("queue_queued", 0))


def _offset_rows(prefix: str, result, scene: str) -> list[BenchRow]:
    """Cameras LOCKED at the end of the run and their mean offset error."""
    world = result.world
    clocks = {name: clock for name, clock in world.clocks.items() if name != world.reference_camera}
    fps = dict(zip(world.config.camera_names, world.config.resolved_fps()))
    scores = score_offsets({o.camera: o for o in result.offsets}, clocks, fps)
    locked = [s for s in scores if s.state is SyncState.LOCKED]
    error = float(np.mean([abs(s.error_frames) for s in locked])) if locked else math.nan
    return [
        BenchRow(f"{prefix} cameras LOCKED at the end", float(len(locked)), f"of {len(scores)}", scene, *at_least(len(locked), len(scores))),
        BenchRow(f"{prefix} mean |offset error| of LOCKED cameras", error, "frames", scene),
    ]  # fmt: skip
