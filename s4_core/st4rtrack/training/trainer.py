"""The supervised training loop: resumable, logged, bounded in wall time.

State is explicit (model, optimizer, step) and checkpointed together with the run's config;
the data of each step is a pure function of (seed, step) (see :mod:`.data`), so stopping and
resuming — e.g. to train in chunks on a shared CPU — gives the same weights as one long run.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from s4_core.st4rtrack.checkpoint import load_st4rtrack
from s4_core.st4rtrack.checkpoint_args import config_to_args
from s4_core.st4rtrack.model import St4RTrackNet
from s4_core.st4rtrack.training.config import TrainConfig
from s4_core.st4rtrack.training.data import PairBatch, PoolBatches, render_pool, step_batch
from s4_core.st4rtrack.training.loss import PointmapLoss, pointmap_loss
from s4_core.st4rtrack.training.targets import ClipTargets

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "train_log.jsonl"


def config_to_json(config: TrainConfig) -> dict:
    """The run's config as JSON-ready values (paths as strings, the model as its args string)."""
    data = dataclasses.asdict(config)
    data["model"] = config_to_args(config.model)
    data["out_dir"] = str(config.out_dir)
    data["init_weights"] = None if config.init_weights is None else str(config.init_weights)
    return data


class Trainer:
    """Trains a :class:`St4RTrackNet` from scratch on synthetic clips.

    Args:
        config: the run.
        resume: continue from ``config.out_dir/checkpoint.pt`` when it exists.
    """

    def __init__(self, config: TrainConfig, resume: bool = False) -> None:
        self.config = config
        self.device = torch.device(config.device)
        torch.manual_seed(config.seed)
        self.model = St4RTrackNet(config.model).to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.step = 0
        self.train_seconds = 0.0  # wall time spent in run(), summed over resumed chunks
        self._pool_index = -1
        self._pool: list[ClipTargets] = []
        config.out_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.checkpoint_path.is_file():
            self._load_checkpoint()
        elif config.init_weights is not None:
            self._load_init_weights(config.init_weights)

    @property
    def checkpoint_path(self) -> Path:
        return self.config.out_dir / CHECKPOINT_NAME

    @property
    def log_path(self) -> Path:
        return self.config.out_dir / LOG_NAME

    def learning_rate(self, step: int) -> float:
        """Linear warm-up, then cosine decay to ``min_lr_ratio * lr`` at the last step."""
        config = self.config
        if step < config.warmup_steps:
            return config.lr * (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(config.steps - config.warmup_steps, 1)
        ratio = config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        return config.lr * ratio

    def batch(self, step: int) -> PairBatch:
        """The batch of ``step`` (renders a new clip pool every ``pool_steps`` steps)."""
        config = self.config
        pool_index = step // config.pool_steps
        if pool_index != self._pool_index:
            self._pool = render_pool(config.scenes, config.seed, pool_index, config.pool_clips)
            self._pool_index = pool_index
        return step_batch(config, self._pool, step)

    def batches(self) -> Iterator[PairBatch]:
        """The batches of steps ``self.step``, ``self.step + 1``, ... up to the last step.

        With ``data_workers`` they are rendered in spawned processes a few pools ahead (spawned,
        not forked: the parent may hold CUDA and OpenMP state); the batches equal
        :meth:`batch`'s.
        """
        config = self.config
        if config.data_workers == 0:
            yield from (self.batch(step) for step in range(self.step, config.steps))
            return
        first_pool = self.step // config.pool_steps
        loader = torch.utils.data.DataLoader(
            PoolBatches(config, first_pool),
            batch_size=None,
            num_workers=config.data_workers,
            multiprocessing_context="spawn",
            prefetch_factor=1,
        )
        skip = self.step - first_pool * config.pool_steps  # a run resumed inside a pool
        for pool_batches in loader:
            yield from pool_batches[skip:]
            skip = 0

    def loss(self, batch: PairBatch) -> PointmapLoss:
        """The supervised loss of the current model on ``batch``."""
        batch = batch.to(self.device)
        prediction = self.model(batch.anchor, batch.frames)
        return pointmap_loss(
            prediction,
            batch.pts_track,
            batch.valid_track,
            batch.pts_recon,
            batch.valid_recon,
            self.config.conf_alpha,
            self.config.motion_weight,
            self.config.moving_threshold,
        )

    def train_step(self, batch: PairBatch | None = None) -> PointmapLoss:
        """One optimizer step on ``batch``, by default the batch of the current step."""
        self.model.train()
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(self.step)
        loss = self.loss(self.batch(self.step) if batch is None else batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.step += 1
        return loss

    def run(self, max_wall_s: float | None = None) -> bool:
        """Train until ``config.steps`` or until ``max_wall_s`` has passed; checkpoint on the way out.

        Returns:
            True when all steps are done.
        """
        start, window_start, window_steps = time.monotonic(), time.monotonic(), 0
        seconds_before = self.train_seconds
        totals: list[dict[str, float]] = []
        batches = self.batches()
        try:
            for batch in batches:
                if max_wall_s is not None and time.monotonic() - start > max_wall_s:
                    log.info("wall-time budget of %.0f s reached at step %d", max_wall_s, self.step)
                    break
                totals.append(self.train_step(batch).as_floats())
                self.train_seconds = seconds_before + time.monotonic() - start
                window_steps += 1
                if self.step % self.config.log_every == 0 or self.step == self.config.steps:
                    self._log(totals, window_steps / (time.monotonic() - window_start))
                    totals, window_start, window_steps = [], time.monotonic(), 0
                if self.step % self.config.checkpoint_every == 0:
                    self.save_checkpoint()
        finally:
            batches.close()  # stops data workers now, not at interpreter exit
        self.save_checkpoint()
        return self.step >= self.config.steps

    @torch.no_grad()
    def evaluate(self, batch: PairBatch) -> PointmapLoss:
        """The loss on ``batch`` in eval mode, without gradients."""
        self.model.eval()
        return self.loss(batch)

    def save_checkpoint(self) -> None:
        """Model, optimizer, step and config, written atomically (a crash keeps the last one)."""
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "train_seconds": self.train_seconds,
            "config": json.dumps(config_to_json(self.config)),
        }
        partial = self.checkpoint_path.with_suffix(".partial")
        torch.save(state, partial)
        partial.replace(self.checkpoint_path)

    def _load_checkpoint(self) -> None:
        state = torch.load(self.checkpoint_path, map_location=self.device, weights_only=True)
        saved = json.loads(state["config"])
        if saved["model"] != config_to_args(self.config.model):
            raise ValueError(f"{self.checkpoint_path} holds another architecture: {saved['model']}")
        same_data = ("data_workers", "device", "out_dir")  # where and how fast, not what is trained
        changed = sorted(k for k, v in config_to_json(self.config).items() if saved.get(k) != v and k not in same_data)
        if changed:
            log.warning("resuming with changed settings: %s", ", ".join(changed))
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.train_seconds = float(state.get("train_seconds", 0.0))
        log.info("resumed %s at step %d", self.checkpoint_path, self.step)

    def _load_init_weights(self, path: Path) -> None:
        start = load_st4rtrack(path)
        if start.config != self.config.model:
            raise ValueError(f"{path} holds another architecture: {config_to_args(start.config)}")
        self.model.load_state_dict(start.state_dict())
        log.info("starting from the weights of %s", path)

    def _log(self, history: list[dict[str, float]], steps_per_s: float) -> None:
        means = {key: sum(h[key] for h in history) / len(history) for key in history[0]}
        record = {
            "step": self.step,
            "lr": self.learning_rate(self.step - 1),
            "steps_per_s": steps_per_s,
            "train_seconds": self.train_seconds,
            **means,
        }
        with self.log_path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        log.info(
            "step %d/%d loss %.4f (track %.4f recon %.4f motion %.4f; regr %.4f / %.4f) lr %.2e %.2f steps/s",
            self.step, self.config.steps, means["total"], means["conf_track"], means["conf_recon"], means["motion"],
            means["regr_track"], means["regr_recon"], record["lr"], steps_per_s,
        )
