"""``s4 demo``: the main job on an embedded default, a synthetic 4-camera rig.

Synthesizes a recording with known clock offsets, writes it as a real rosbag2, reads it back and
summarizes what it holds. The same command grows with the pipeline: every stage it runs is the
one the nodes and ``s4 sync-bag`` run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from rosbags.rosbag2 import Reader

from s4_core.cli.errors import UsageError
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.synth.bag import check_destination, write_bag


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="synthesize a 4-camera rig and sync it end to end")
    parser.add_argument("--out", type=Path, default=None, help="keep the bags here (default: a temporary folder)")
    parser.add_argument("--cameras", type=int, default=4, help="number of cameras")
    parser.add_argument("--duration", type=float, default=6.0, help="recording length, seconds")
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
    bag = work / "synthetic_rig"
    try:
        check_destination(bag)
    except ValueError as error:
        raise UsageError(str(error)) from None
    world = SyntheticWorld(config)
    print(f"s4 demo: rendering {config.num_cameras} cameras x {config.duration_s:g} s into {bag}")
    summary = write_bag(world, bag, storage="mcap")
    counts = _topic_counts(summary.bag_path)
    print(f"s4 demo: read back {sum(counts.values())} messages on {len(counts)} topics")
    _print_rig_table(world, counts)
    return 0


def _topic_counts(bag: Path) -> Counter:
    with Reader(bag) as reader:
        return Counter(connection.topic for connection, _, _ in reader.messages())


def _print_rig_table(world: SyntheticWorld, counts: Counter) -> None:
    print(f"{'camera':8} {'fps':>5} {'true offset s':>14} {'drift ppm':>10} {'images':>7} {'depth':>6}")
    for i, camera in enumerate(world.cameras):
        clock = world.clocks[camera.name]
        fps = world.config.resolved_fps()[i]
        print(
            f"{camera.name:8} {fps:5g} {clock.offset_s:+14.6f} {clock.drift_ppm:+10.2f} "
            f"{counts[f'/{camera.name}/image_raw']:7d} {counts[f'/{camera.name}/depth/image_raw']:6d}"
        )
