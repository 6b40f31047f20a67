"""``s4 train-st4rtrack``: train a small St4RTrack on synthetic scenes, resumable in chunks.

Example (the shipped weights, see s4_core/st4rtrack/weights/README.md)::

    s4 train-st4rtrack --steps 4000 --max-minutes 9 --resume \\
        --export s4_core/st4rtrack/weights/st4rtrack_small_synth
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

from s4_core.cli.errors import UsageError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train-st4rtrack", help="train a small St4RTrack on synthetic scenes (CPU or CUDA)")
    parser.add_argument("--model", default="small", help="architecture preset: tiny (64x48), small or medium (128x96)")
    parser.add_argument("--steps", type=int, default=4000, help="optimizer steps in total")
    parser.add_argument("--batch", type=int, default=8, help="(anchor, frame) pairs per step")
    parser.add_argument("--lr", type=float, default=4e-4, help="peak AdamW learning rate")
    parser.add_argument("--motion-weight", type=float, default=10.0, help="weight of the twin-pair motion loss (0: paper only)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initialization and of all data draws")
    parser.add_argument("--train-seed-min", type=int, default=1000, help="first synthetic-world seed for training (>= 100)")
    parser.add_argument("--pool-clips", type=int, default=24, help="clips rendered per pool")
    parser.add_argument("--pool-steps", type=int, default=40, help="steps between pool refreshes")
    parser.add_argument("--max-stride", type=int, default=4, help="largest frame stride of a training clip")
    parser.add_argument(
        "--frame-crop-prob", type=float, default=0.5, help="probability of a pair's frame getting its own crop"
    )
    parser.add_argument("--init-weights", type=Path, default=None, help="start from these weights (fine-tune)")
    parser.add_argument("--data-workers", type=int, default=0, help="processes rendering training data ahead (0: none)")
    parser.add_argument("--out-dir", type=Path, default=Path("build/train_st4rtrack"), help="checkpoint and log folder")
    parser.add_argument("--resume", action="store_true", help="continue from OUT_DIR/checkpoint.pt if present")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (and checkpoint) after this wall time")
    parser.add_argument("--export", type=Path, default=None, help="when done, write BASE.safetensors/.pth/.json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from s4_core.st4rtrack.training import MODEL_PRESETS, Augmentation, SceneSampling, TrainConfig, Trainer
    from s4_core.st4rtrack.training.export import export_weights

    if args.model not in MODEL_PRESETS:
        raise UsageError(f"--model must be one of {', '.join(MODEL_PRESETS)}, got {args.model!r}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda requested but no CUDA device is available")
    try:
        config = TrainConfig(
            model=MODEL_PRESETS[args.model],
            steps=args.steps,
            batch_pairs=args.batch,
            lr=args.lr,
            motion_weight=args.motion_weight,
            seed=args.seed,
            init_weights=args.init_weights,
            scenes=dataclasses.replace(SceneSampling(), seed_min=args.train_seed_min, max_stride=args.max_stride),
            augment=dataclasses.replace(Augmentation(), frame_crop_prob=args.frame_crop_prob),
            pool_clips=args.pool_clips,
            pool_steps=args.pool_steps,
            data_workers=args.data_workers,
            device=args.device,
            out_dir=args.out_dir,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    torch.set_num_threads(max(1, args.threads))
    trainer = Trainer(config, resume=args.resume)
    max_wall_s = None if args.max_minutes is None else 60.0 * args.max_minutes
    done = trainer.run(max_wall_s=max_wall_s)
    print(f"step {trainer.step}/{config.steps}, {trainer.train_seconds:.0f} s of training; log: {trainer.log_path}")
    if done and args.export is not None:
        final = _last_log_record(trainer.log_path)
        for path in export_weights(trainer, args.export, final):
            print(f"wrote {path}")
    return 0


def _last_log_record(path: Path) -> dict[str, float]:
    lines = path.read_text().splitlines() if path.is_file() else []
    return json.loads(lines[-1]) if lines else {}
