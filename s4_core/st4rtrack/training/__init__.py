"""Supervised training of St4RTrack on synthetic scenes (``s4 train-st4rtrack``).

Ground-truth pointmaps of both heads come from the synthetic world's ray caster; the loss is
DUSt3R's confidence-weighted, scale-normalized 3D regression; runs are resumable.
"""

from s4_core.st4rtrack.training.config import EVAL_SEEDS, MODEL_PRESETS, Augmentation, SceneSampling, TrainConfig
from s4_core.st4rtrack.training.data import PairBatch, make_batch, render_pool, sample_clip
from s4_core.st4rtrack.training.loss import PointmapLoss, pointmap_loss
from s4_core.st4rtrack.training.targets import ClipTargets, clip_targets
from s4_core.st4rtrack.training.trainer import Trainer

__all__ = [
    "EVAL_SEEDS",
    "MODEL_PRESETS",
    "Augmentation",
    "ClipTargets",
    "PairBatch",
    "PointmapLoss",
    "SceneSampling",
    "TrainConfig",
    "Trainer",
    "clip_targets",
    "make_batch",
    "pointmap_loss",
    "render_pool",
    "sample_clip",
]
