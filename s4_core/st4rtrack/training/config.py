"""Hyperparameters of supervised St4RTrack training on synthetic scenes (frozen dataclasses).

Scenes come from :class:`s4_core.synth.SyntheticWorld` seeds in a training range that never
overlaps the evaluation seeds (``EVAL_SEEDS``), so benchmarks always run on unseen scenes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from s4_core.st4rtrack.config import St4RTrackConfig

#: Synthetic-world seeds reserved for evaluation; training never draws them.
EVAL_SEEDS = range(0, 100)


def _doubled(config: St4RTrackConfig) -> St4RTrackConfig:
    """``config`` with every width and depth doubled (about 4x the parameters)."""
    sizes = ("enc_embed_dim", "enc_depth", "dec_embed_dim", "dec_depth", "dpt_feature_dim", "dpt_last_dim")
    return dataclasses.replace(
        config, **{name: 2 * getattr(config, name) for name in sizes}, dpt_layer_dims=tuple(2 * d for d in config.dpt_layer_dims)
    )


#: Architecture presets selectable by name (e.g. from the command line).
MODEL_PRESETS: dict[str, St4RTrackConfig] = {
    "tiny": St4RTrackConfig.small(input_size_wh=(64, 48)),
    "small": St4RTrackConfig.small(input_size_wh=(128, 96)),
    "medium": _doubled(St4RTrackConfig.small(input_size_wh=(128, 96))),  # for GPU training
}


@dataclass(frozen=True)
class SceneSampling:
    """How training clips are drawn from the synthetic world.

    Attributes:
        seed_min: first synthetic-world seed used for training.
        seed_count: number of training seeds (``seed_min .. seed_min + seed_count - 1``).
        render_size_wh: rendered image size; crops of it are resized to the network input.
        clip_frames: frames per clip (anchor included).
        max_stride: largest frame stride (frames are 1/fps apart times a random 1..max_stride).
        fps: nominal frame rate of the clips.
        scene_duration_s: length of the world's motion from which clip starts are drawn.
        reverse_prob: probability of playing a clip backwards (the anchor is then its last frame).
        num_cameras: cameras of each world (one is picked at random per clip).
    """

    seed_min: int = 1000
    seed_count: int = 1_000_000
    render_size_wh: tuple[int, int] = (144, 108)
    clip_frames: int = 6
    max_stride: int = 4
    fps: float = 30.0
    scene_duration_s: float = 8.0
    reverse_prob: float = 0.3
    num_cameras: int = 4

    def __post_init__(self) -> None:
        overlaps_eval = self.seed_min < EVAL_SEEDS.stop and self.seed_min + self.seed_count > EVAL_SEEDS.start
        if self.seed_count < 1 or overlaps_eval:
            raise ValueError(f"training seeds must avoid the evaluation seeds {EVAL_SEEDS}")
        if self.clip_frames < 2 or self.max_stride < 1 or not 0.0 <= self.reverse_prob <= 1.0:
            raise ValueError(f"invalid clip sampling {self}")


@dataclass(frozen=True)
class Augmentation:
    """Per-pair image augmentation (DUSt3R-style), applied identically to images and targets.

    Attributes:
        min_crop_scale: smallest crop side relative to the rendered image (1 = no zoom).
        brightness: colour jitter: multiplicative brightness range +-.
        contrast: contrast range +-.
        saturation: saturation range +-.
        noise_std: additive Gaussian noise, 8-bit levels.
        frame_crop_prob: probability that the non-anchor image of a pair gets its own crop
            (a different virtual camera) instead of the anchor's.
    """

    min_crop_scale: float = 0.75
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    noise_std: float = 2.0
    frame_crop_prob: float = 0.5


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    Attributes:
        model: architecture (its ``input_size_wh`` is the training resolution).
        init_weights: weights to start from (a ``.safetensors`` or ``.pth`` of the same
            architecture), e.g. to fine-tune; None trains from scratch. A resumed run starts
            from its checkpoint instead.
        steps: optimizer steps in total (the learning-rate schedule spans them).
        batch_pairs: (anchor, frame) pairs per step.
        lr: peak AdamW learning rate.
        min_lr_ratio: final learning rate relative to ``lr`` (cosine decay).
        warmup_steps: linear warm-up steps.
        weight_decay: AdamW weight decay.
        conf_alpha: the ``alpha`` of the confidence-weighted loss ``c * err - alpha * log c``.
        motion_weight: weight of the twin-pair displacement term (0: the paper's loss only).
        moving_threshold: normalized true displacement above which the motion term counts a
            point as moving (0.002: 1 cm at a mean point distance of 5 m).
        seed: seed of the initialization and of every data draw.
        scenes: clip sampling.
        augment: image augmentation.
        pool_clips: clips rendered at once and reused for ``pool_steps`` steps.
        pool_steps: steps between two pool refreshes.
        data_workers: processes that render pools and cut their batches ahead of the
            optimizer (0: in the training process). The batches are the same either way.
        device: torch device.
        out_dir: where checkpoints and the log go.
        checkpoint_every: steps between checkpoints.
        log_every: steps between log lines.
    """

    model: St4RTrackConfig = field(default_factory=lambda: MODEL_PRESETS["small"])
    init_weights: Path | None = None
    steps: int = 4000
    batch_pairs: int = 8
    lr: float = 4e-4
    min_lr_ratio: float = 0.05
    warmup_steps: int = 100
    weight_decay: float = 0.05
    conf_alpha: float = 0.2
    motion_weight: float = 10.0
    moving_threshold: float = 0.002
    seed: int = 0
    scenes: SceneSampling = field(default_factory=SceneSampling)
    augment: Augmentation = field(default_factory=Augmentation)
    pool_clips: int = 24
    pool_steps: int = 40
    data_workers: int = 0
    device: str = "cpu"
    out_dir: Path = Path("build/train_st4rtrack")
    checkpoint_every: int = 200
    log_every: int = 20

    def __post_init__(self) -> None:
        if not 0.0 <= self.augment.frame_crop_prob <= 1.0:
            raise ValueError(f"frame_crop_prob must be in [0, 1], got {self.augment.frame_crop_prob}")
        if self.batch_pairs % 2:
            raise ValueError(f"batch_pairs must be even (pairs come in twins), got {self.batch_pairs}")
        if min(self.steps, self.batch_pairs, self.pool_clips, self.pool_steps, self.checkpoint_every, self.log_every) < 1:
            raise ValueError(f"counts must be positive: {self}")
        if self.data_workers < 0 or self.moving_threshold < 0:
            raise ValueError(f"data_workers and moving_threshold must not be negative: {self}")
        positive = self.lr > 0 and self.conf_alpha > 0
        if not (positive and 0 <= self.min_lr_ratio <= 1 and self.warmup_steps >= 0 and self.motion_weight >= 0):
            raise ValueError(f"invalid optimizer settings: {self}")
