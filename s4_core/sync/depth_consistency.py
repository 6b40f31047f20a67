"""Pair offset of two calibrated depth cameras from the consistency of moving geometry.

Camera B's moving surface points (its 3D tracks where they lie in front of B's static
background), interpolated in time, must at the right offset lie *on* the surfaces camera A
measured at the same instant: projected into A, their depth equals A's depth there (support),
or lies behind it (hidden from A: no information). At a wrong offset the moving objects are
elsewhere, so B's points float in space A saw as empty (in front of A's surface: a violation).
This is the overlap of motion SyncTrack4D aligns, measured densely against A's depth instead of
through one-to-one track matches, which real data rarely offers (two cameras mostly see
different faces of an object) and which track identity errors corrupt. The score is smooth in
the offset (tracks are interpolated linearly between frames), so a bounded 1D search refines the
best frame lag to a sub-frame offset; its stddev comes from the spread of the optimum over
independent blocks of A's frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from s4_core.sync.depth_history import DepthHistory
from s4_core.sync.offset_search import PeakCriteria, combine_directions, finer_period_s, offset_grid_s, search_offset
from s4_core.sync.pair import PairOffset
from s4_core.tracks import TrackSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DepthConsistencyConfig:
    """Hyperparameters of :func:`offset_by_depth_consistency`.

    Attributes:
        max_offset_s: largest |offset| searched without a hint, seconds.
        hint_radius_s: search radius around a given hint, seconds.
        sigma_m: depth residual scale (sensor noise plus track error), metres.
        max_speed_mps: faster steps between two frames are track jumps, not motion.
        max_tracks: B's tracks used (the ones moving in most frames).
        max_frames: A's frames used, evenly spread over the window.
        min_overlap_fraction: share of A's frames that must meet B's interpolated tracks.
        min_points: B points that must be seen by A at the best offset.
        min_score: smallest acceptable peak score (support minus violations per point).
        min_peak_margin: the peak must beat every other local maximum by this fraction of it.
        num_blocks: blocks of A's frames whose optima give the stddev.
        stddev_floor_frames: smallest stddev reported, in frames of the finer camera.
    """

    max_offset_s: float = 5.0
    hint_radius_s: float = 0.25
    sigma_m: float = 0.02
    max_speed_mps: float = 5.0
    max_tracks: int = 400
    max_frames: int = 80
    min_overlap_fraction: float = 0.3
    min_points: int = 200
    min_score: float = 0.05
    min_peak_margin: float = 0.2
    num_blocks: int = 6
    stddev_floor_frames: float = 0.01

    @property
    def criteria(self) -> PeakCriteria:
        """When a score peak is accepted as the offset."""
        return PeakCriteria(self.min_points, self.min_score, self.min_peak_margin, self.num_blocks, self.stddev_floor_frames)


@dataclass(frozen=True)
class _MovingPoints:
    """B's moving track points, ready for interpolation at any stamp."""

    stamps_s: np.ndarray  # [K]
    xyz: np.ndarray  # [K, N, 3]
    segment_ok: np.ndarray  # [K - 1, N]: both ends moving and a plausible step


@dataclass(frozen=True)
class _TargetFrames:
    """A's frames the B points are checked against.

    A projected point's pixel is uncertain by about one pixel (rounding, calibration, track
    error), which at a silhouette decides between object and background. So a point only
    violates free space when it lies in front of the *nearest* surface around its pixel, and
    its support is its agreement with the *closest* of the surrounding depths.
    """

    stamps_s: np.ndarray  # [I]
    neighbour_depth_m: np.ndarray  # [I, 9, h, w]: the 3x3 neighbourhood of every pixel
    nearest_depth_m: np.ndarray  # [I, h, w]: smallest valid depth of the neighbourhood (inf if none)
    history: DepthHistory


def offset_by_depth_consistency(
    tracks_b: TrackSet,
    history_b: DepthHistory,
    history_a: DepthHistory,
    config: DepthConsistencyConfig = DepthConsistencyConfig(),
    hint_s: float | None = None,
) -> PairOffset:
    """Offset of B relative to A (B's stamp minus A's stamp of one instant).

    Args:
        tracks_b: B's window of 3D tracks in the world frame shared with A.
        history_b: B's depth history (its static background tells moving points apart).
        history_a: A's depth history over (at least) the same window.
        config: hyperparameters.
        hint_s: current estimate of the offset, to search near it only.
    """
    cam_a, cam_b = history_a.model.name, tracks_b.camera
    period_s = finer_period_s(history_a.stamps_s, tracks_b.stamps_ns / 1e9)
    t_a_s = float(np.mean(history_a.stamps_s[[0, -1]])) if history_a.num_frames else float("nan")

    def fail(reason: str) -> PairOffset:
        return PairOffset(cam_a, cam_b, float("nan"), float("inf"), t_a_s, period_s, 0, False, reason)

    if tracks_b.xyz is None or history_a.background() is None or history_b.background() is None:
        return fail("no depth history yet")
    moving = _moving_points(tracks_b, history_b, config)
    if moving.xyz.shape[1] == 0:
        return fail("no moving points: static scene or no shared motion")
    target = _target_frames(history_a, config.max_frames)
    grid = offset_grid_s(period_s, config.max_offset_s, hint_s, config.hint_radius_s)
    found = search_offset(
        lambda d, frames: _score(moving, target, d, config, frames), grid, len(target.stamps_s), period_s, config.criteria
    )
    if not found.ok:
        return fail(found.reason)
    log.debug("%s-%s: %.5f s +- %.2f ms (score %.3f, rival %.3f)", cam_a, cam_b, found.offset_s, found.stddev_s * 1e3, found.peak, found.rival)
    return PairOffset(cam_a, cam_b, found.offset_s, found.stddev_s, t_a_s, period_s, found.points, True)


def _moving_points(tracks: TrackSet, history: DepthHistory, config: DepthConsistencyConfig) -> _MovingPoints:
    """B's track points in front of B's background, the most often moving tracks first."""
    xyz = tracks.xyz.astype(np.float64)  # [K, N, 3]
    K, N = tracks.num_frames, tracks.num_tracks
    ok = tracks.visible & np.isfinite(xyz).all(axis=-1)
    depth_b = history.full_model.world_to_camera(np.nan_to_num(xyz))[..., 2]  # [K, N]
    moving = ok & history.is_dynamic_at(tracks.uv.reshape(-1, 2), depth_b.reshape(-1)).reshape(K, N)
    stamps_s = tracks.stamps_ns / 1e9
    dt = np.diff(stamps_s)[:, None]
    step_m = np.linalg.norm(np.diff(xyz, axis=0), axis=-1)
    with np.errstate(invalid="ignore"):
        segment_ok = moving[:-1] & moving[1:] & (step_m <= config.max_speed_mps * dt)
    keep = np.argsort(-segment_ok.sum(axis=0), kind="stable")[: config.max_tracks]
    keep = keep[segment_ok[:, keep].any(axis=0)]
    return _MovingPoints(stamps_s, xyz[:, keep], segment_ok[:, keep])


def _target_frames(history: DepthHistory, max_frames: int) -> _TargetFrames:
    index = np.unique(np.linspace(0, history.num_frames - 1, min(max_frames, history.num_frames)).round().astype(int))
    depth = np.stack([history.depth(i) for i in index])  # [I, h, w]
    padded = np.pad(depth, ((0, 0), (1, 1), (1, 1)), constant_values=np.nan)
    h, w = depth.shape[1:]
    neighbours = np.stack([padded[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], axis=1)
    with np.errstate(all="ignore"):
        nearest = np.nanmin(np.where(np.isfinite(neighbours), neighbours, np.inf), axis=1)
    return _TargetFrames(history.stamps_s[index], neighbours, nearest, history)


def _score(moving: _MovingPoints, target: _TargetFrames, offset_s: float, config: DepthConsistencyConfig,
           frames: np.ndarray | None = None) -> tuple[float, float]:
    """(mean support minus violation per B point seen by A, number of such points) at an offset."""
    frames = np.arange(len(target.stamps_s)) if frames is None else frames
    t_b = target.stamps_s[frames] + offset_s
    k = np.searchsorted(moving.stamps_s, t_b, side="right") - 1
    inside = (k >= 0) & (k < len(moving.stamps_s) - 1)
    if inside.mean() < config.min_overlap_fraction:
        return float("nan"), 0.0
    k, t_b, frames = k[inside], t_b[inside], frames[inside]
    w = ((t_b - moving.stamps_s[k]) / (moving.stamps_s[k + 1] - moving.stamps_s[k]))[:, None, None]
    points = (1.0 - w) * moving.xyz[k] + w * moving.xyz[k + 1]  # [I, N, 3]
    usable = moving.segment_ok[k]  # [I, N]
    model = target.history.model
    uv, z = model.project(np.where(usable[..., None], points, 0.0))
    cols, rows = np.round(uv[..., 0]).astype(np.int64), np.round(uv[..., 1]).astype(np.int64)
    in_image = usable & (z > 0) & (cols >= 0) & (cols < model.width) & (rows >= 0) & (rows < model.height)
    fi = np.broadcast_to(frames[:, None], cols.shape)[in_image]
    ri, ci, zi = rows[in_image], cols[in_image], z[in_image]
    nearest = target.nearest_depth_m[fi, ri, ci]
    seen = np.isfinite(nearest)
    if not seen.any():
        return 0.0, 0.0
    fi, ri, ci, zi, nearest = fi[seen], ri[seen], ci[seen], zi[seen], nearest[seen]
    centre = target.neighbour_depth_m[fi, 4, ri, ci]
    support = np.exp(-0.5 * (np.nan_to_num(np.abs(centre - zi), nan=np.inf) / config.sigma_m) ** 2)
    ahead = (nearest - zi) / config.sigma_m  # > 0: in front of every surface A saw around here
    violation = 1.0 / (1.0 + np.exp(np.clip(3.0 - ahead, -50, 50)))
    return float(np.mean(support - violation)), float(zi.size)


def offset_by_mutual_depth_consistency(
    tracks_a: TrackSet,
    history_a: DepthHistory,
    tracks_b: TrackSet,
    history_b: DepthHistory,
    config: DepthConsistencyConfig = DepthConsistencyConfig(),
    hint_s: float | None = None,
) -> PairOffset:
    """B-into-A and A-into-B estimates combined (see :func:`combine_directions`)."""
    forward = offset_by_depth_consistency(tracks_b, history_b, history_a, config, hint_s)
    backward = offset_by_depth_consistency(tracks_a, history_a, history_b, config, None if hint_s is None else -hint_s)
    return combine_directions(forward, backward)
