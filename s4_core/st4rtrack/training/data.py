"""Training batches: synthetic clips rendered on the fly, cut into augmented (anchor, frame) pairs.

Every random draw comes from a generator seeded by ``(run seed, purpose, index)``, so the data of
step ``k`` does not depend on what ran before it: a resumed run sees exactly the batches an
uninterrupted one would have seen, with no data-loader state to save.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor

from s4_core.st4rtrack.training.config import Augmentation, SceneSampling, TrainConfig
from s4_core.st4rtrack.training.targets import ClipTargets, clip_targets
from s4_core.synth import SynthConfig, SyntheticWorld


class Purpose(enum.IntEnum):
    """What a generator draws (so clips and batches never share a stream)."""

    CLIP = 1
    BATCH = 2


def data_rng(seed: int, purpose: Purpose, index: int) -> np.random.Generator:
    """The generator of one clip or one batch."""
    return np.random.default_rng((seed, int(purpose), index))


@dataclass(frozen=True)
class PairBatch:
    """B (anchor, frame) pairs with both heads' targets, at the network input size.

    Attributes:
        anchor: anchor images in [-1, 1] [B, 3, H, W].
        frames: frame images in [-1, 1] [B, 3, H, W].
        pts_track: head-1 targets, anchor camera frame [B, H, W, 3].
        valid_track: [B, H, W] bool.
        pts_recon: head-2 targets, anchor camera frame [B, H, W, 3].
        valid_recon: [B, H, W] bool.
    """

    anchor: Tensor
    frames: Tensor
    pts_track: Tensor
    valid_track: Tensor
    pts_recon: Tensor
    valid_recon: Tensor

    def to(self, device: str | torch.device) -> "PairBatch":
        return PairBatch(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def sample_clip(sampling: SceneSampling, rng: np.random.Generator) -> ClipTargets:
    """One clip: a random training world, camera, start, stride and direction."""
    seed = int(rng.integers(sampling.seed_min, sampling.seed_min + sampling.seed_count))
    world = SyntheticWorld(
        SynthConfig(
            num_cameras=sampling.num_cameras,
            duration_s=sampling.scene_duration_s,
            seed=seed,
            size_wh=sampling.render_size_wh,
            noise_std=0.0,
        )
    )
    stride = int(rng.integers(1, sampling.max_stride + 1))
    span_s = (sampling.clip_frames - 1) * stride / sampling.fps
    start_s = float(rng.uniform(0.0, max(sampling.scene_duration_s - span_s, 0.0)))
    times_s = world.t0_s + start_s + np.arange(sampling.clip_frames) * stride / sampling.fps
    if rng.random() < sampling.reverse_prob:
        times_s = times_s[::-1].copy()
    return clip_targets(world, int(rng.integers(sampling.num_cameras)), times_s)


def render_pool(sampling: SceneSampling, seed: int, pool_index: int, num_clips: int) -> list[ClipTargets]:
    """The ``pool_index``-th pool of clips (deterministic in ``seed`` and ``pool_index``)."""
    return [sample_clip(sampling, data_rng(seed, Purpose.CLIP, pool_index * num_clips + k)) for k in range(num_clips)]


def step_batch(config: TrainConfig, pool: list[ClipTargets], step: int) -> PairBatch:
    """The batch of optimizer step ``step``, cut from the pool of that step."""
    rng = data_rng(config.seed, Purpose.BATCH, step)
    return make_batch(pool, config.batch_pairs, config.model.input_size_wh, config.augment, rng)


class PoolBatches(torch.utils.data.Dataset):
    """Item ``k``: the batches of every step of pool ``first_pool + k``, rendered and cut in
    the process that asks (a data-loader worker), so rendering overlaps the optimizer.

    Args:
        config: the training run.
        first_pool: pool of item 0.
    """

    def __init__(self, config: TrainConfig, first_pool: int) -> None:
        self.config = config
        self.first_pool = first_pool

    def __len__(self) -> int:
        return max(-(-self.config.steps // self.config.pool_steps) - self.first_pool, 0)

    def __getitem__(self, index: int) -> list[PairBatch]:
        config = self.config
        pool_index = self.first_pool + index
        pool = render_pool(config.scenes, config.seed, pool_index, config.pool_clips)
        steps = range(pool_index * config.pool_steps, min((pool_index + 1) * config.pool_steps, config.steps))
        return [step_batch(config, pool, step) for step in steps]


def make_batch(
    pool: list[ClipTargets], batch_pairs: int, input_size_wh: tuple[int, int], augment: Augmentation, rng: np.random.Generator
) -> PairBatch:
    """Draw ``batch_pairs`` (even) pairs from the pool as twins.

    Twin k is pairs ``2k`` = (anchor, anchor) and ``2k + 1`` = (anchor, frame j >= 1) of one
    clip, with one crop and the very same anchor image: the difference of their head-1 outputs
    is the predicted motion of the anchor's points, which the motion loss supervises.
    """
    if batch_pairs % 2:
        raise ValueError(f"batch_pairs must be even (pairs come in twins), got {batch_pairs}")
    samples = []
    for _ in range(batch_pairs // 2):
        clip = pool[int(rng.integers(len(pool)))]
        samples.extend(_augmented_twin(clip, int(rng.integers(1, clip.num_frames)), input_size_wh, augment, rng))
    return PairBatch(*(torch.from_numpy(np.stack(column)) for column in zip(*samples)))


def _augmented_twin(
    clip: ClipTargets, j: int, input_size_wh: tuple[int, int], augment: Augmentation, rng: np.random.Generator
) -> list[tuple[np.ndarray, ...]]:
    """Pairs (0, 0) and (0, j) as (anchor, frame, pts_track, valid_track, pts_recon, valid_recon).

    The anchor's crop is the twins' virtual camera; pointmaps stay in the anchor camera's 3D
    frame, which a crop and a zoom do not change (only the intrinsics would). With probability
    ``augment.frame_crop_prob`` frame j gets a crop of its own: head 2 must then place frame j's
    pixels in the anchor's view, which it can only do by matching the two images. A rig of
    static cameras gives no other reason to look across the pair, and matching is what
    tracking moving points needs too.
    """
    anchor_crop = _random_crop(clip, input_size_wh, augment, rng)
    own_crop = augment.frame_crop_prob > 0 and rng.random() < augment.frame_crop_prob  # no draw at 0
    frame_crop = _random_crop(clip, input_size_wh, augment, rng) if own_crop else anchor_crop

    def as_input(rgb: np.ndarray, crop: Crop) -> np.ndarray:
        jittered = _colour_jitter(crop.cut(rgb, cv2.INTER_AREA).astype(np.float32), augment, rng)
        return (jittered / 127.5 - 1.0).transpose(2, 0, 1).astype(np.float32)

    def targets(k: int, recon_crop: Crop) -> tuple[np.ndarray, ...]:
        return (
            anchor_crop.cut(clip.pts_track[k]),
            anchor_crop.cut(clip.valid_track[k].astype(np.uint8)).astype(bool),
            recon_crop.cut(clip.pts_recon[k]),
            recon_crop.cut(clip.valid_recon[k].astype(np.uint8)).astype(bool),
        )

    anchor = as_input(clip.rgb[0], anchor_crop)
    return [(anchor, anchor, *targets(0, anchor_crop)), (anchor, as_input(clip.rgb[j], frame_crop), *targets(j, frame_crop))]


@dataclass(frozen=True)
class Crop:
    """A window of the rendered image resized to the network input (a virtual camera)."""

    x0: int
    y0: int
    width: int
    height: int
    out_wh: tuple[int, int]

    def cut(self, image: np.ndarray, interpolation: int = cv2.INTER_NEAREST) -> np.ndarray:
        window = image[self.y0 : self.y0 + self.height, self.x0 : self.x0 + self.width]
        return cv2.resize(window, self.out_wh, interpolation=interpolation)


def _random_crop(
    clip: ClipTargets, input_size_wh: tuple[int, int], augment: Augmentation, rng: np.random.Generator
) -> Crop:
    """A crop of the input's aspect ratio, ``min_crop_scale``..1 of the largest that fits."""
    height, width = clip.rgb.shape[1:3]
    in_w, in_h = input_size_wh
    fit = min(width / in_w, height / in_h)
    scale = fit * rng.uniform(augment.min_crop_scale, 1.0)
    crop_w, crop_h = int(round(in_w * scale)), int(round(in_h * scale))
    x0, y0 = int(rng.integers(0, width - crop_w + 1)), int(rng.integers(0, height - crop_h + 1))
    return Crop(x0, y0, crop_w, crop_h, input_size_wh)


def _colour_jitter(rgb: np.ndarray, augment: Augmentation, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, saturation jitter and sensor noise on a float image [H, W, 3] (0..255)."""
    gray = rgb.mean(axis=-1, keepdims=True)
    rgb = gray + (rgb - gray) * (1.0 + rng.uniform(-augment.saturation, augment.saturation))
    rgb = rgb.mean() + (rgb - rgb.mean()) * (1.0 + rng.uniform(-augment.contrast, augment.contrast))
    rgb = rgb * (1.0 + rng.uniform(-augment.brightness, augment.brightness))
    rgb = rgb + augment.noise_std * rng.standard_normal(rgb.shape).astype(np.float32)
    return np.clip(rgb, 0.0, 255.0)
