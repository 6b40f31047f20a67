"""``s4 synth``: write a synthetic multi-camera rosbag2 with a ground-truth JSON beside it."""

from __future__ import annotations

import argparse
from pathlib import Path

from s4_core.cli.errors import UsageError
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.synth.bag import STORAGES, check_destination, write_bag


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth", help="render a synthetic multi-camera recording with known clock offsets into a bag"
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="bag directory to create; ground truth goes to OUT.gt.json")
    parser.add_argument("--cameras", type=int, default=4, help="number of cameras (cam0 is the reference clock)")
    parser.add_argument("--duration", type=float, default=10.0, help="recording length, seconds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the scene, rig, clocks, drops and noise")
    parser.add_argument(
        "--offsets",
        default=None,
        help="clock offsets in seconds, one per camera (the first must be 0) or one value for every "
        "camera but cam0; default: random whole frames plus fractions up to +-3 s",
    )
    parser.add_argument(
        "--fps", default=None, help="frame rates, one per camera or one for all; default: 30, 25, 30, ..."
    )
    parser.add_argument(
        "--drift-ppm",
        default=None,
        help="clock drifts in ppm, one per camera (the first must be 0) or one value for every camera "
        "but cam0; default: random in [-50, 50]",
    )
    parser.add_argument("--drop-rate", type=float, default=0.0, help="probability of dropping each frame, [0, 1)")
    parser.add_argument("--noise-std", type=float, default=2.0, help="Gaussian image noise, 8-bit levels")
    parser.add_argument("--size", default="320x240", help="image size WxH (default 320x240)")
    parser.add_argument("--no-depth", action="store_true", help="do not record depth images")
    parser.add_argument("--storage", default="mcap", help=f"bag storage: {' or '.join(STORAGES)} (default mcap)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.storage not in STORAGES:
        raise UsageError(f"--storage must be one of {', '.join(STORAGES)}, got {args.storage!r}")
    config = _config_from_args(args)
    try:
        check_destination(args.out)
    except ValueError as error:
        raise UsageError(str(error)) from None
    world = SyntheticWorld(config)
    summary = write_bag(world, args.out, storage=args.storage)
    print(f"wrote {summary.bag_path} ({summary.storage}, {summary.num_messages} messages) and {summary.ground_truth_path}")
    for i, (camera, fps) in enumerate(zip(world.cameras, config.resolved_fps())):
        clock = world.clocks[camera.name]
        times = world.frame_times(i)
        print(
            f"  {camera.name}: {fps:g} fps, offset {clock.offset_s:+.6f} s, drift {clock.drift_ppm:+.2f} ppm, "
            f"{len(times.stamp_ns)} frames ({times.num_dropped} dropped)"
        )
    return 0


def _config_from_args(args: argparse.Namespace) -> SynthConfig:
    """A validated config; every problem becomes a one-line UsageError."""
    if args.cameras < 1:
        raise UsageError(f"--cameras must be at least 1, got {args.cameras}")
    try:
        return SynthConfig(
            num_cameras=args.cameras,
            duration_s=args.duration,
            seed=args.seed,
            size_wh=_parse_size(args.size),
            fps=_per_camera("--fps", args.fps, args.cameras, broadcast_to_reference=True),
            offsets_s=_per_camera("--offsets", args.offsets, args.cameras, broadcast_to_reference=False),
            drift_ppm=_per_camera("--drift-ppm", args.drift_ppm, args.cameras, broadcast_to_reference=False),
            drop_rate=args.drop_rate,
            noise_std=args.noise_std,
            with_depth=not args.no_depth,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


def _parse_size(text: str) -> tuple[int, int]:
    """``"320x240"`` -> (320, 240)."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UsageError(f"--size must look like 320x240, got {text!r}")
    return int(parts[0]), int(parts[1])


def _per_camera(
    flag: str, text: str | None, num_cameras: int, broadcast_to_reference: bool
) -> tuple[float, ...] | None:
    """Comma-separated values, one per camera; a single value is used for every camera, or for
    every camera but the reference (whose clock offset and drift are 0 by definition)."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{flag} must be comma-separated numbers, got {text!r}") from None
    if len(values) == 1:
        first = values[0] if broadcast_to_reference else 0.0
        return (first,) + values * (num_cameras - 1)
    if len(values) != num_cameras:
        raise UsageError(f"{flag} has {len(values)} values for {num_cameras} cameras")
    if not broadcast_to_reference and values[0] != 0.0:
        raise UsageError(f"{flag}: the first value is cam0, the reference clock, and must be 0, got {values[0]:g}")
    return values
