"""Bench suite ``bag``: how fast ``s4 sync-bag`` gets through a recording, and how well it syncs.

Speeds are seconds of recording per second of wall time (1.0 = real time) on a 4-camera
320x240 30 fps synthetic recording with depth. The bag tool's own cost (read, copy, decode,
pair, re-stamp, write) is measured apart from the pipeline's with a pipeline that does nothing,
so a slow row says which side to look at.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from s4_core.bagtool import BagSyncResult, pipeline_factory, sync_bag
from s4_core.bench.harness import BenchContext, BenchRow, at_least
from s4_core.frames import Frame
from s4_core.offsets import ClockOffset, SyncState
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.synth.bag import write_bag
from s4_core.synth.offset_scoring import score_offsets
from s4_core.synth.ground_truth import ground_truth_path, load_ground_truth

BENCH_SIZE_WH = (320, 240)
BENCH_FPS = 30.0
BENCH_CAMERAS = 4

#: The bag tool alone should use at most half of the real-time budget, leaving the rest to the
#: pipeline (whose target, with it, is real time).
TOOL_ONLY_TARGET_X = 2.0


class _NoPipeline:
    """Takes frames and estimates nothing: isolates the bag tool's own cost."""

    def __init__(self, cameras: dict, reference: str) -> None:
        self._cameras = cameras

    def add_frames(self, frames: list[Frame]) -> list:
        return []

    def finish(self) -> list:
        return []

    def offsets(self) -> dict[str, ClockOffset]:
        return {name: ClockOffset(name, 0.0, 0.0, 0.0, SyncState.LOCKED) for name in self._cameras}


def run(ctx: BenchContext) -> list[BenchRow]:
    """Speed of the bag tool alone and with the pipeline, and the offset error, on one recording."""
    duration_s = 4.0 if ctx.quick else 10.0  # shorter recordings lock no camera: nothing to score
    config = SynthConfig(
        num_cameras=BENCH_CAMERAS, duration_s=duration_s, seed=ctx.seed, size_wh=BENCH_SIZE_WH,
        fps=(BENCH_FPS,) * BENCH_CAMERAS,
    )  # fmt: skip
    scene = f"{BENCH_CAMERAS} cams {BENCH_SIZE_WH[0]}x{BENCH_SIZE_WH[1]} {BENCH_FPS:g} fps {duration_s:g} s mcap+depth"
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "recording"
        write_bag(SyntheticWorld(config), bag, storage="mcap")
        tool_only = sync_bag(bag, Path(tmp) / "tool_only", _NoPipeline)
        full = sync_bag(bag, Path(tmp) / "full", pipeline_factory())
        truth = load_ground_truth(ground_truth_path(bag))
    scores = score_offsets(full.offsets, truth.clocks, truth.fps)
    worst = max((abs(s.error_frames) if s.state is SyncState.LOCKED else math.inf) for s in scores)
    return [
        _speed_row("sync-bag speed, bag tool only", tool_only, scene, TOOL_ONLY_TARGET_X),
        _speed_row("sync-bag speed with pipeline", full, scene, 1.0),
        BenchRow("sync-bag largest |offset error| (inf: a camera not locked)", worst, "frames", scene),
    ]


def _speed_row(name: str, result: BagSyncResult, scene: str, target_x: float) -> BenchRow:
    speed = result.recording_s / result.wall_s
    target, met = at_least(speed, target_x)
    return BenchRow(name, speed, "x real time", scene, target, met)
