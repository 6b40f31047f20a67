"""``s4 demo``: the main job on an embedded default, a synthetic 4-camera rig.

Synthesizes a recording with known clock offsets as a real rosbag2, syncs it with exactly what
``s4 sync-bag`` runs (the streaming pipeline behind the bag tool), and scores the recovered
offsets against the truth.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from s4_core.bagtool import BagSyncOptions, ProgressBar, pipeline_factory, summary_table, sync_bag
from s4_core.cli.errors import UsageError
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.synth.bag import check_destination, write_bag
from s4_core.synth.offset_scoring import format_scores, score_offsets


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="synthesize a 4-camera rig and sync it end to end")
    parser.add_argument("--out", type=Path, default=None, help="keep the bags here (default: a temporary folder)")
    parser.add_argument("--cameras", type=int, default=4, help="number of cameras")
    parser.add_argument("--duration", type=float, default=8.0, help="recording length, seconds")
    parser.add_argument("--seed", type=int, default=0, help="scene and clock seed")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="s4-demo-")) if args.out is None else args.out
    try:
        return _run_in(work, args)
    finally:
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)


def _run_in(work: Path, args: argparse.Namespace) -> int:
    try:
        config = SynthConfig(num_cameras=args.cameras, duration_s=args.duration, seed=args.seed)
    except ValueError as error:
        raise UsageError(str(error)) from None
    recording, synced = work / "synthetic_rig", work / "synthetic_rig_synced"
    for path in (recording, synced):
        try:
            check_destination(path)
        except ValueError as error:
            raise UsageError(str(error)) from None
    world = SyntheticWorld(config)
    print(f"s4 demo: rendering {config.num_cameras} cameras x {config.duration_s:g} s into {recording}")
    write_bag(world, recording, storage="mcap")
    print(f"s4 demo: syncing {recording} -> {synced} (as `s4 sync-bag` does)")
    progress = ProgressBar(sys.stderr)
    try:
        result = sync_bag(recording, synced, pipeline_factory(None), BagSyncOptions(), progress)
    finally:
        progress.close()
    print(summary_table(result))
    fps = dict(zip(config.camera_names, config.resolved_fps()))
    print("\nagainst ground truth:")
    print(format_scores(score_offsets(result.offsets, world.clocks, fps)))
    return 0
