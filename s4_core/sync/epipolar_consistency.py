"""Pair offset of two calibrated RGB-only cameras from where their motion meets along rays.

Without depth, something camera B sees moving at pixel u lies somewhere on B's viewing ray
through u, which camera A sees as the epipolar line of u. At the right offset that ray passes
through something A saw *moving at the same instant* (the same object, unless A cannot see it);
at a wrong offset the moving objects are elsewhere and the ray mostly crosses still pixels of A.
This is the RGB-only analogue of the depth consistency (:mod:`depth_consistency`): the overlap
of motion SyncTrack4D aligns, measured between the two cameras' dense motion masks (the
consistency of their motion "visual hulls") instead of through one-to-one track matches, which
two real cameras rarely offer (different faces, fast motion at low frame rates).

B's dynamic pixels are the rays; their samples in A's image are computed once. The closeness
of one ray to A's motion is exp(-d^2 / 2 sigma^2), d the smallest distance from A's dynamic
pixels to the ray's samples (A's distance-to-motion maps), computed once per A frame and then,
for each candidate offset, averaged over A's frames around the instant with a Gaussian kernel
in time (so the score is smooth in the offset, and its peak can fall between frames). A ray
that crosses a region where something moves most of the time is close by chance; so each
ray's closeness is taken relative to its own chance level (its mean closeness at offsets
spread over the search range) and weighted by how rarely it is close by chance: the rays that
meet motion only at the right instant carry the timing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np

from s4_core.sync.image_history import ImageHistory
from s4_core.sync.offset_search import (
    PeakCriteria, Subsample, combine_directions, finer_period_s, offset_grid_s, one_at_a_time, search_offset,
)
from s4_core.sync.pair import PairOffset

log = logging.getLogger(__name__)

#: Distance (subsampled pixels) of ray samples outside A's image or behind it.
_OUTSIDE_PX = 1e4


@dataclass(frozen=True)
class EpipolarConsistencyConfig:
    """Hyperparameters of :func:`offset_by_epipolar_consistency`.

    Attributes:
        max_offset_s: largest |offset| searched without a hint, seconds.
        hint_radius_s: search radius around a given hint, seconds.
        near_m: nearest depth along B's ray that is searched, metres.
        far_m: farthest depth along B's ray, metres.
        ray_samples: samples along the ray (uniform in inverse depth, as pixels are).
        sigma_px: scale of the ray-to-motion distance, in A's subsampled pixels (calibration
            and lens error, motion blur).
        kernel_frames: stddev of the Gaussian kernel in time over A's frames, in A's frames.
        rays_per_frame: B's dynamic pixels used per frame, evenly spread.
        max_frames: B's frames used, evenly spread over the window.
        min_overlap_fraction: share of B's frames whose instant must fall inside A's window.
        chance_offsets: offsets spread over +-max_offset_s that give each ray's chance level.
        min_points: rays entering A's image at the best offset.
        min_score: smallest acceptable peak of the weighted closeness above chance.
        min_peak_margin: the peak must beat every other lobe by this fraction of it.
        num_blocks: blocks of B's frames whose optima give the stddev.
        stddev_floor_frames: smallest stddev reported, in frames of the finer camera.
        num_groups: interleaved groups of each frame's rays whose optima give the stddev too.
        max_stddev_frames: a pair offset less certain than this (the two directions disagree
            by more than two frames, or the blocks scatter) is no measurement.
    """

    max_offset_s: float = 5.0
    hint_radius_s: float = 0.25
    near_m: float = 0.2
    far_m: float = 30.0
    ray_samples: int = 32
    sigma_px: float = 1.0
    kernel_frames: float = 0.5
    rays_per_frame: int = 200
    max_frames: int = 40
    min_overlap_fraction: float = 0.3
    chance_offsets: int = 16
    min_points: int = 200
    min_score: float = 0.05
    min_peak_margin: float = 0.2
    num_blocks: int = 6
    stddev_floor_frames: float = 0.01
    num_groups: int = 6
    max_stddev_frames: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.near_m < self.far_m or self.ray_samples < 2 or self.sigma_px <= 0 or self.kernel_frames <= 0 or self.rays_per_frame < 1:
            raise ValueError(f"invalid epipolar consistency config {self}")

    @property
    def criteria(self) -> PeakCriteria:
        """When a score peak is accepted as the offset."""
        return PeakCriteria(self.min_points, self.min_score, self.min_peak_margin, self.num_blocks,
                            self.stddev_floor_frames, self.num_groups)  # fmt: skip


@dataclass(frozen=True)
class _MotionRays:
    """B's dynamic pixels of some frames, as sample pixels of their viewing rays in A's image."""

    stamps_s: np.ndarray  # [K] B's stamps of those frames
    samples_px: np.ndarray  # [K, P, S, 2] float32 in A's subsampled image (far outside if behind A)
    valid: np.ndarray  # [K, P] a dynamic pixel fills this slot


@dataclass(frozen=True)
class _RayCloseness:
    """How close each of B's rays passes to A's motion in each of A's frames.

    It does not depend on the offset (which only picks the A frames a B frame is compared
    with), so it is computed once per pair and every candidate offset is a weighted sum.
    """

    stamps_a_s: np.ndarray  # [J] A's frame stamps
    value: np.ndarray  # [K, P, J] float32 in [0, 1]: exp(-d^2 / 2 sigma^2), d the ray-to-motion distance
    seen: np.ndarray  # [K, P] the ray enters A's image


@dataclass(frozen=True)
class _Closeness:
    """Closeness [K', P] of B's rays to A's motion at one offset (K' <= K frames)."""

    value: np.ndarray  # [K', P] in [0, 1]
    seen: np.ndarray  # [K', P] the ray exists and enters A's image
    frames: np.ndarray  # [K'] which of B's frames


def offset_by_epipolar_consistency(
    history_a: ImageHistory,
    history_b: ImageHistory,
    config: EpipolarConsistencyConfig = EpipolarConsistencyConfig(),
    hint_s: float | None = None,
) -> PairOffset:
    """Offset of B relative to A (B's stamp minus A's stamp of one instant), B's rays in A.

    Args:
        history_a: A's recent images, with A's calibration (``full_model``).
        history_b: B's recent images over (about) the same window, with B's calibration.
        config: hyperparameters.
        hint_s: current estimate of the offset, to search near it only.
    """
    cam_a, cam_b = history_a.model.name, history_b.model.name
    period_s = finer_period_s(history_a.stamps_s, history_b.stamps_s)
    t_a_s = float(np.mean(history_a.stamps_s[[0, -1]])) if history_a.num_frames else float("nan")

    def fail(reason: str) -> PairOffset:
        return PairOffset(cam_a, cam_b, float("nan"), float("inf"), t_a_s, period_s, 0, False, reason)

    if not (history_a.ready and history_b.ready):
        return fail("no image history yet")
    rays = _motion_rays(history_b, history_a, config)
    if not rays.valid.any():
        return fail("no motion: static scene or no shared motion")
    table = _ray_closeness(rays, history_a, config)
    chance = _chance_per_ray(rays, table, config)
    if chance is None:
        return fail("windows do not overlap")
    weight = 1.0 - chance  # [K, P]: a ray close to motion at any instant says nothing about which

    def above_chance(offset_s: float, part: Subsample) -> tuple[float, float]:
        close = _closeness(rays, table, offset_s, config, part.frames)
        if close is None:
            return float("nan"), 0.0
        w = close.seen * weight[close.frames]
        if part.group is not None:  # rays with index g mod n
            w = w * (np.arange(w.shape[1]) % part.group[1] == part.group[0])
        total = float(w.sum())
        score = float((w * (close.value - chance[close.frames])).sum() / total) if total > 0 else 0.0
        return score, float(close.seen.sum())

    grid = offset_grid_s(period_s, config.max_offset_s, hint_s, config.hint_radius_s)
    found = search_offset(one_at_a_time(above_chance), grid, len(rays.stamps_s), period_s, config.criteria)
    if not found.ok:
        return fail(found.reason)
    log.debug("%s-%s: %.5f s +- %.2f ms (score %.3f, rival %.3f)", cam_a, cam_b, found.offset_s,
              found.stddev_s * 1e3, found.peak, found.rival)  # fmt: skip
    return PairOffset(cam_a, cam_b, found.offset_s, found.stddev_s, t_a_s, period_s, found.points, True)


def offset_by_mutual_epipolar_consistency(
    history_a: ImageHistory,
    history_b: ImageHistory,
    config: EpipolarConsistencyConfig = EpipolarConsistencyConfig(),
    hint_s: float | None = None,
) -> PairOffset:
    """B's rays in A and A's rays in B combined (see :func:`combine_directions`)."""
    forward = offset_by_epipolar_consistency(history_a, history_b, config, hint_s)
    backward = offset_by_epipolar_consistency(history_b, history_a, config, None if hint_s is None else -hint_s)
    pair = combine_directions(forward, backward)
    if pair.ok and pair.stddev_s > config.max_stddev_frames * pair.frame_period_s:
        return replace(pair, ok=False, offset_s=float("nan"), stddev_s=float("inf"),
                       reason=f"directions disagree ({forward.offset_s:+.4f} s vs {-backward.offset_s:+.4f} s)")  # fmt: skip
    return pair


def _motion_rays(history_b: ImageHistory, history_a: ImageHistory, config: EpipolarConsistencyConfig) -> _MotionRays:
    """Up to ``rays_per_frame`` dynamic pixels of each of B's frames, as ray samples in A."""
    index = np.unique(np.linspace(0, history_b.num_frames - 1, min(config.max_frames, history_b.num_frames)).round().astype(int))
    P = config.rays_per_frame
    uv = np.zeros((len(index), P, 2))
    valid = np.zeros((len(index), P), bool)
    for row, k in enumerate(index):
        rows, cols = np.nonzero(history_b.dynamic_mask(int(k)))
        pick = np.unique(np.linspace(0, len(rows) - 1, min(P, len(rows))).round().astype(int)) if len(rows) else []
        uv[row, : len(pick)] = np.stack([cols[pick], rows[pick]], axis=-1)
        valid[row, : len(pick)] = True
    model_a, model_b = history_a.model, history_b.model
    a_from_b = model_a.camera_from_world @ model_b.world_from_camera  # [4, 4]
    direction = np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], axis=-1) @ (a_from_b[:3, :3] @ np.linalg.inv(model_b.K)).T
    depths_m = 1.0 / np.linspace(1.0 / config.near_m, 1.0 / config.far_m, config.ray_samples)
    xyz = a_from_b[:3, 3] + depths_m[:, None] * direction[:, :, None, :]  # [K, P, S, 3] in A's optical frame
    z = xyz[..., 2]
    in_front = z > 1e-6
    pixels = (xyz[..., :2] / np.where(in_front, z, 1.0)[..., None]) @ model_a.K[:2, :2].T + model_a.K[:2, 2]
    samples = np.where(in_front[..., None], pixels, -_OUTSIDE_PX).astype(np.float32)
    return _MotionRays(history_b.stamps_s[index], samples, valid)


def _ray_closeness(rays: _MotionRays, history_a: ImageHistory, config: EpipolarConsistencyConfig) -> _RayCloseness:
    """Closeness of every ray to the motion of every one of A's frames (one remap per frame)."""
    K, P, S, _ = rays.samples_px.shape
    map_x, map_y = rays.samples_px[..., 0].reshape(K * P, S), rays.samples_px[..., 1].reshape(K * P, S)
    value = np.empty((K, P, history_a.num_frames), np.float32)
    seen = np.zeros((K, P), bool)
    for j in range(history_a.num_frames):
        looked_up = cv2.remap(history_a.distance_to_motion_px(j), map_x, map_y, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=_OUTSIDE_PX)  # fmt: skip
        nearest = looked_up.min(axis=-1).reshape(K, P)
        value[:, :, j] = np.exp(-0.5 * (np.minimum(nearest, 100.0) / config.sigma_px) ** 2)
        seen |= nearest < 0.5 * _OUTSIDE_PX
    return _RayCloseness(history_a.stamps_s, value, seen)


def _chance_per_ray(rays: _MotionRays, table: _RayCloseness, config: EpipolarConsistencyConfig) -> np.ndarray | None:
    """Mean closeness [K, P] of each ray at offsets spread over the search range."""
    total, count = np.zeros(rays.valid.shape), np.zeros(rays.valid.shape)
    for offset_s in np.linspace(-config.max_offset_s, config.max_offset_s, config.chance_offsets):
        close = _closeness(rays, table, float(offset_s), config)
        if close is not None:
            total[close.frames] += close.value * close.seen
            count[close.frames] += close.seen
    if not count.any():
        return None
    return np.where(count > 0, total / np.maximum(count, 1), 1.0)


def _closeness(rays: _MotionRays, table: _RayCloseness, offset_s: float, config: EpipolarConsistencyConfig,
               frames: np.ndarray | None = None) -> _Closeness | None:
    """How close each of B's rays passes to A's motion around the instant of its frame.

    A's frames near the instant are weighted by a Gaussian kernel in time, so the closeness
    is smooth in the offset and its maximum falls between frames when the instant does.
    """
    frames = np.arange(len(rays.stamps_s)) if frames is None else frames
    t_a = rays.stamps_s[frames] - offset_s
    j = np.searchsorted(table.stamps_a_s, t_a, side="right") - 1
    inside = (j >= 0) & (j < len(table.stamps_a_s) - 1)
    if inside.mean() < config.min_overlap_fraction:
        return None
    frames, t_a = frames[inside], t_a[inside]
    kernel_s = config.kernel_frames * float(np.median(np.diff(table.stamps_a_s)))
    lag = (table.stamps_a_s[None, :] - t_a[:, None]) / kernel_s  # [K', J]
    weights = np.where(np.abs(lag) <= 2.0, np.exp(-0.5 * lag**2), 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    value = (table.value[frames] @ weights[:, :, None].astype(np.float32))[..., 0]  # [K', P]
    return _Closeness(value.astype(np.float64), rays.valid[frames] & table.seen[frames], frames)
