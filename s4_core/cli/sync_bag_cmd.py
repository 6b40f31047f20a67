"""``s4 sync-bag``: estimate the clock offsets of a recorded rig and write a synced copy of the bag."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from s4_core.bagtool import (
    BagSyncError,
    BagSyncOptions,
    CameraOverride,
    ProgressBar,
    pipeline_factory,
    plot_offsets,
    summary_table,
    sync_bag,
    write_result_json,
)
from s4_core.bagtool.staged_writer import STORAGES
from s4_core.cli.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sync-bag",
        help="sync the cameras of a recorded rosbag2 (sqlite3 or mcap) offline",
        description="Streams IN through the s4 pipeline and writes OUT: every input message unchanged, "
        "plus the clock offsets over time, tracks, correspondences, splats and each camera re-stamped "
        "to the reference clock under /s4/synced/<camera>/.",
    )
    parser.add_argument("bag", type=Path, metavar="IN", help="input rosbag2 directory (or .mcap/.db3 file)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output bag to create")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE", help="pipeline configuration (TOML or JSON)")
    parser.add_argument("--json", type=Path, default=None, metavar="RESULT", help="write the final offsets as JSON")
    parser.add_argument("--plot", type=Path, default=None, metavar="PNG", help="plot the offset estimates over time")
    parser.add_argument(
        "--camera",
        action="append",
        default=[],
        metavar="NAME=IMAGE_TOPIC[,info=TOPIC][,depth=TOPIC]",
        help="sync exactly the cameras given (repeat per camera) instead of finding them by topic names",
    )
    parser.add_argument("--reference", default=None, metavar="NAME", help="reference camera (default: first by name)")
    parser.add_argument(
        "--storage", choices=tuple(STORAGES), default=None, help="output storage (default: the input's)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for path in (args.json, args.plot):
        if path is not None and not path.parent.resolve().is_dir():
            raise UsageError(f"directory {path.parent} does not exist")
    try:
        cameras = tuple(CameraOverride.parse(text) for text in args.camera)
        factory = pipeline_factory(args.config)
    except (OSError, ValueError) as error:
        raise UsageError(str(error)) from None
    options = BagSyncOptions(reference_camera=args.reference, storage=args.storage, cameras=cameras)
    progress = ProgressBar(sys.stderr)
    try:
        result = sync_bag(args.bag, args.output, factory, options, progress)
    except BagSyncError as error:
        raise UsageError(str(error)) from None
    finally:
        progress.close()
    print(
        f"synced {result.recording_s:.1f} s of recording in {result.wall_s:.1f} s "
        f"({result.recording_s / max(result.wall_s, 1e-9):.2f}x real time): {result.messages_copied} messages "
        f"copied, {result.messages_added} added -> {result.out_path}",
        file=sys.stderr,
    )
    print(summary_table(result))
    try:
        if args.json is not None:
            write_result_json(result, args.json)
        if args.plot is not None:
            plot_offsets(result.history, result.reference_camera, args.plot)
    except OSError as error:  # the synced bag is complete; only a side file failed
        raise UsageError(f"{result.out_path} is complete, but a result file could not be written: {error}") from None
    return 0
