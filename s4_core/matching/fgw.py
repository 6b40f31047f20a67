"""Track correspondences between two cameras by Fused Gromov-Wasserstein transport.

Why FGW: each camera's 3D tracks live in its own world frame (unknown rigid pose, possibly
unknown scale) and its own clock. The Gromov-Wasserstein term compares distances *within* each
camera's tracks, which a similarity transform leaves unchanged once divided by a robust scale;
the Wasserstein (feature) term compares descriptors, and, when the two cameras share a world
frame (calibrated extrinsics) or calibrated intrinsics+extrinsics in RGB-only mode, the tracks'
paths (partial chamfer in 3D, epipolar chamfer in pixels; :mod:`.track_paths`), which do not
depend on the unknown clock offset. The structure term uses time means (exact once an offset
hint restricts both sides to the common capture interval). Only tracks that move in the image
are matched when both sides have enough of them: static tracks carry no timing.

Partial visibility: by default the plan is the exact *balanced* FGW (``ot.gromov.
fused_gromov_wasserstein``, 0.1 s at 500x500), and tracks the other camera does not see are
removed afterwards by three filters: mutual argmax, plan mass relative to the row/column mass,
and consistency with the geometry. Without an offset, that last check is made at the offset
most matches agree on, at common instants: 3D distance in a shared world frame, distance to
the epipolar line for calibrated pixels. Where there is no such consensus, or no common
instant, the time means are checked instead (distances to the other matches in 3D, epipolar
distance in 2D), though they are biased for moving points seen over different intervals. With a
known offset in a shared world frame, tracks without a counterpart within the tolerance are
gated out before the transport, so they do not take the mass of those with one.
``partial_mass`` switches to POT's exact partial FGW, which transports only that fraction of
the mass; it is the principled formulation for small overlaps but ~7x slower at 500 tracks, so
it is an option, not the default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import ot

from s4_core.arrays import finite_points
from s4_core.camera import PinholeCamera
from s4_core.correspondences import Correspondences
from s4_core.matching.aligned_distance import share_at_consensus_offset, time_aligned_distance
from s4_core.matching.epipolar import fundamental_matrix, sampson_distance_px
from s4_core.matching.track_geometry import (
    common_stamp_masks,
    image_motion_px,
    normalized_distance_matrix,
    track_mean_positions,
)
from s4_core.matching.track_paths import (
    epipolar_sample_distance,
    euclidean_sample_distance,
    partial_chamfer,
    path_samples,
)
from s4_core.robust_stats import SIGMA_PER_MAD
from s4_core.tracks import TrackSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FgwMatchConfig:
    """Hyperparameters of :func:`match_tracks_fgw`.

    Attributes:
        structure_weight: FGW ``alpha``, the weight of the structure (GW) term against the
            feature term; 1 ignores descriptors and positions.
        cross_term_weight: weight of the position cross term (shared frame / epipolar) inside
            the feature cost, relative to the descriptor term.
        max_tracks: keep at most this many tracks per side, the longest-seen first (FGW is
            cubic-ish in N, and long tracks carry the most timing).
        min_seen_frames: tracks visible in fewer frames of the compared range are left out.
        min_image_motion_px: a track whose pixel positions spread (RMS radius) less than this
            is static for the (static) camera; only moving tracks are matched when both sides
            have enough of them, since static tracks carry no timing and, being most of a real
            scene, would dominate the plan.
        path_samples: samples per track path for the time-shift-invariant cross term.
        partial_mass: transported mass fraction for POT's partial FGW; None for balanced FGW.
        min_relative_mass: keep a mutual-argmax match when its plan mass is at least this
            fraction of its row and column mass.
        max_distance_inconsistency: 3D only: drop matches whose distances to the other
            nearest other matches differ between the cameras by more than this (relative,
            median) -- such matches contradict a similarity transform.
        consistency_neighbours: how many nearest matches that check compares.
        min_matches: fewer confident matches than this gives an empty result (no evidence).
        rescale_tolerance: re-solve with the scale ratio measured on the matches when it
            differs from the median-based one by more than this (log ratio).
        aligned_tolerance_m: with an offset hint in a shared world frame, the tracking error
            scale of the time-aligned distance (it then dominates the feature cost); only
            tracks with a counterpart within twice this enter the transport, and a match is
            kept only when its aligned distance is within twice this. Without a hint, twice
            this is the distance within which a match supports an offset in the offset
            consistency check.
        epipolar_tolerance_px: 2D with calibration, without an offset hint: the Sampson
            distance within which a match's pixels agree at an instant, in the offset
            consistency check (tracking error plus calibration error).
    """

    structure_weight: float = 0.5
    cross_term_weight: float = 1.0
    max_tracks: int = 200
    min_seen_frames: int = 10
    min_image_motion_px: float = 2.0
    path_samples: int = 10
    partial_mass: float | None = None
    min_relative_mass: float = 0.5
    max_distance_inconsistency: float = 0.2
    consistency_neighbours: int = 8
    min_matches: int = 4
    rescale_tolerance: float = 0.05
    aligned_tolerance_m: float = 0.03
    epipolar_tolerance_px: float = 3.0


@dataclass(frozen=True)
class _Side:
    """One camera's candidate tracks for matching: indices into the TrackSet and geometry."""

    index: np.ndarray  # [n] int64 into the TrackSet's tracks
    mean: np.ndarray  # [n, 3] or [n, 2]
    path: np.ndarray  # [n, S, 3] or [n, S, 2] samples of each track's path in the compared range
    raw_dist: np.ndarray  # [n, n] distances between means, camera units
    scale: float  # median off-diagonal of raw_dist

    def subset(self, keep: np.ndarray) -> _Side:
        """The candidates at ``keep`` (indices or mask); the scale stays that of the full set."""
        return _Side(self.index[keep], self.mean[keep], self.path[keep], self.raw_dist[np.ix_(keep, keep)], self.scale)


def match_tracks_fgw(
    a: TrackSet,
    b: TrackSet,
    config: FgwMatchConfig = FgwMatchConfig(),
    offset_hint_s: float | None = None,
    cameras: tuple[PinholeCamera, PinholeCamera] | None = None,
) -> Correspondences:
    """Confident one-to-one correspondences between the tracks of two cameras.

    Args:
        a: tracks of camera A (any clock, any world frame).
        b: tracks of camera B.
        config: matching hyperparameters.
        offset_hint_s: the pair offset (B's stamp minus A's stamp of the same instant) when a
            previous estimate exists; the time means are then taken over the same capture
            interval, which removes their bias for moving points.
        cameras: calibrations of A and B; used in 2D mode (no xyz) for an epipolar cross term.

    Returns:
        Correspondences with weights in [0, 1]; empty when fewer than ``min_matches`` hold.
    """
    use_3d = a.has_3d and b.has_3d
    if offset_hint_s is None:
        mask_a, mask_b = np.ones(a.num_frames, bool), np.ones(b.num_frames, bool)
    else:
        mask_a, mask_b = common_stamp_masks(a.stamps_ns, b.stamps_ns, offset_hint_s)
    side_a = _candidate_side(a, mask_a, use_3d, config)
    side_b = _candidate_side(b, mask_b, use_3d, config)
    if min(len(side_a.index), len(side_b.index)) < config.min_matches:
        return _empty(a, b)
    aligned = _aligned_distance(a, b, side_a, side_b, offset_hint_s, use_3d)
    if aligned is not None:
        # Gate before transport: a track with no counterpart within the final tolerance cannot
        # be matched, and left in, it would take part of the mass of the tracks that can (the
        # balanced plan must fill every column, and most tracks of one camera have none).
        near = aligned <= 2.0 * config.aligned_tolerance_m
        rows_ok, cols_ok = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
        if min(len(rows_ok), len(cols_ok)) < config.min_matches:
            return _empty(a, b)
        side_a, side_b, aligned = side_a.subset(rows_ok), side_b.subset(cols_ok), aligned[np.ix_(rows_ok, cols_ok)]
    feature_cost = _feature_cost(a, b, side_a, side_b, use_3d, cameras, config, aligned)
    shared_frame = use_3d and bool(a.world_frame) and a.world_frame == b.world_frame
    # One world frame has one scale; otherwise the first guess is the ratio of the medians.
    ratio = 1.0 if shared_frame else side_a.scale / side_b.scale
    rows, cols, weight, cost = _solve_and_extract(side_a, side_b, ratio, feature_cost, config)
    if not shared_frame and len(rows) >= 2 * config.min_matches:
        # Medians differ when the cameras see different parts of the scene: re-estimate the
        # relative scale from the matches themselves and solve once more.
        new_ratio = _scale_ratio_from_matches(side_a, side_b, rows, cols, ratio)
        if abs(np.log(new_ratio / ratio)) > config.rescale_tolerance:
            ratio = new_ratio
            rows, cols, weight, cost = _solve_and_extract(side_a, side_b, ratio, feature_cost, config)
    if aligned is not None:
        keep = aligned[rows, cols] <= 2.0 * config.aligned_tolerance_m
        rows, cols, weight = rows[keep], cols[keep], weight[keep]
    elif use_3d and len(rows) >= config.min_matches:
        # The distances between time means are biased for moving points whose cameras saw
        # them over different intervals; in one world frame, the offset most matches agree on
        # checks each match at common instants instead, and only the matches it cannot check
        # (never seen at common instants) are left to the distance check.
        keep = _distance_consistent(side_a.raw_dist[np.ix_(rows, rows)], side_b.raw_dist[np.ix_(cols, cols)] * ratio,
                                    config.max_distance_inconsistency, config.consistency_neighbours)
        if shared_frame:
            keep = _checked_where_seen(keep, share_at_consensus_offset(
                a, side_a.index[rows], b, side_b.index[cols], 2.0 * config.aligned_tolerance_m, config.min_matches))
        rows, cols, weight = rows[keep], cols[keep], weight[keep]
    elif not use_3d and cameras is not None and len(rows) >= config.min_matches:
        # The same for calibrated pixels: time-mean pixels are only roughly epipolar for moving
        # points, pixels at common instants are.
        F = fundamental_matrix(*cameras)
        keep = _checked_where_seen(_epipolar_inliers(F, side_a.mean[rows], side_b.mean[cols]), share_at_consensus_offset(
            a, side_a.index[rows], b, side_b.index[cols], config.epipolar_tolerance_px, config.min_matches, F))
        rows, cols, weight = rows[keep], cols[keep], weight[keep]
    if len(rows) < config.min_matches:
        return _empty(a, b)
    log.debug("matched %d tracks %s<->%s (cost %.4f)", len(rows), a.camera, b.camera, cost)
    return Correspondences(
        cam_a=a.camera,
        cam_b=b.camera,
        ids_a=a.track_ids[side_a.index[rows]].astype(np.int64),
        ids_b=b.track_ids[side_b.index[cols]].astype(np.int64),
        weight=weight.astype(np.float32),
        cost=float(cost),
    )


def confident_mutual_matches(plan: np.ndarray, min_relative_mass: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one matches read off a transport plan.

    A pair (i, j) is kept when j is the argmax of row i, i the argmax of column j, and the
    mass P[i, j] is at least ``min_relative_mass`` of both the row and the column mass: a track
    whose mass is spread over several candidates is ambiguous, whatever its argmax.

    Args:
        plan: transport plan [n, m].
        min_relative_mass: threshold in (0, 1].

    Returns:
        rows [K], cols [K] int64 and weights [K] = P[i, j] / max(row mass, column mass).
    """
    if plan.ndim != 2:
        raise ValueError(f"plan must be [n, m], got {plan.shape}")
    row_best = plan.argmax(axis=1)
    col_best = plan.argmax(axis=0)
    rows = np.flatnonzero(col_best[row_best] == np.arange(plan.shape[0]))
    cols = row_best[rows]
    mass = plan[rows, cols]
    denom = np.maximum(plan.sum(axis=1)[rows], plan.sum(axis=0)[cols])
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(denom > 0, mass / denom, 0.0)
    keep = weight >= min_relative_mass
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64), weight[keep]


def _candidate_side(tracks: TrackSet, frame_mask: np.ndarray, use_3d: bool, config: FgwMatchConfig) -> _Side:
    mean, seen = track_mean_positions(tracks, frame_mask, use_3d)
    ok = (seen >= config.min_seen_frames) & finite_points(mean)
    moving = ok & (image_motion_px(tracks, frame_mask) >= config.min_image_motion_px)
    if np.count_nonzero(moving) >= config.min_matches:
        ok = moving
    candidates = np.flatnonzero(ok)
    chosen = candidates[np.argsort(-seen[candidates], kind="stable")[: config.max_tracks]]
    pos = tracks.xyz if use_3d else tracks.uv
    valid = tracks.visible & frame_mask[:, None] & finite_points(pos)
    raw_dist, scale = normalized_distance_matrix(mean[chosen])
    path = path_samples(pos[:, chosen], valid[:, chosen], config.path_samples)
    return _Side(index=chosen, mean=mean[chosen], path=path, raw_dist=raw_dist * scale, scale=scale)


def _feature_cost(
    a: TrackSet,
    b: TrackSet,
    side_a: _Side,
    side_b: _Side,
    use_3d: bool,
    cameras: tuple[PinholeCamera, PinholeCamera] | None,
    config: FgwMatchConfig,
    aligned: np.ndarray | None,
) -> np.ndarray:
    """Linear FGW cost [n, m]: descriptor distance plus the optional position cross term.

    With a known offset in a shared frame, the cross term is the time-aligned distance in units
    of the tracking error (squared, capped so FGW stays finite). Otherwise it compares *paths*
    (:mod:`.track_paths`), not time means: it needs no clock offset, and with an offset hint the
    paths are cut to the common capture interval.
    """
    cost = np.zeros((len(side_a.index), len(side_b.index)))
    da, db = a.descriptors[side_a.index], b.descriptors[side_b.index]
    if da.shape[1] == db.shape[1] and da.shape[1] > 0:
        cost += _robustly_scaled(ot.dist(_unit_rows(da), _unit_rows(db)))
    scale = 0.5 * (side_a.scale + side_b.scale)
    if aligned is not None:
        cost += config.cross_term_weight * np.minimum((aligned / config.aligned_tolerance_m) ** 2, 1e4)
    elif use_3d and a.world_frame and a.world_frame == b.world_frame:
        cross = partial_chamfer(side_a.path, side_b.path, euclidean_sample_distance) / scale
        cost += config.cross_term_weight * cross
    elif not use_3d and cameras is not None:
        cross = partial_chamfer(side_a.path, side_b.path, epipolar_sample_distance(fundamental_matrix(*cameras)))
        cost += config.cross_term_weight * cross / scale
    return cost


def _aligned_distance(a: TrackSet, b: TrackSet, side_a: _Side, side_b: _Side, offset_hint_s, use_3d: bool):
    """Time-aligned distances [n, m] when the offset is known and the frame shared, else None."""
    if offset_hint_s is None or not use_3d or not a.world_frame or a.world_frame != b.world_frame:
        return None
    return time_aligned_distance(a, side_a.index, b, side_b.index, offset_hint_s)


def _solve_and_extract(
    side_a: _Side, side_b: _Side, ratio: float, feature_cost: np.ndarray, config: FgwMatchConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Solve FGW with B's distances rescaled by ``ratio`` into A's units and read matches."""
    C1 = side_a.raw_dist / side_a.scale
    C2 = side_b.raw_dist * ratio / side_a.scale
    p = np.full(len(C1), 1.0 / len(C1))
    q = np.full(len(C2), 1.0 / len(C2))
    alpha = config.structure_weight if np.any(feature_cost) else 1.0
    if config.partial_mass is None:
        plan, info = ot.gromov.fused_gromov_wasserstein(feature_cost, C1, C2, p, q, alpha=alpha, log=True)
        cost = info["fgw_dist"]
    else:
        mass = min(config.partial_mass, 1.0)
        plan, info = ot.gromov.partial_fused_gromov_wasserstein(
            feature_cost, C1, C2, p, q, m=mass, alpha=alpha, log=True, warn=False
        )
        cost = info["partial_fgw_dist"]
    rows, cols, weight = confident_mutual_matches(np.asarray(plan), config.min_relative_mass)
    return rows, cols, weight, float(cost)


def _scale_ratio_from_matches(side_a: _Side, side_b: _Side, rows: np.ndarray, cols: np.ndarray, fallback: float) -> float:
    """Median ratio of A's to B's distances between matched tracks (the similarity scale)."""
    da = side_a.raw_dist[np.ix_(rows, rows)]
    db = side_b.raw_dist[np.ix_(cols, cols)]
    upper = np.triu(np.ones_like(da, dtype=bool), k=1) & (db > 0)
    ratios = da[upper] / db[upper]
    return float(np.median(ratios)) if ratios.size else fallback


def _distance_consistent(
    dist_a: np.ndarray, dist_b: np.ndarray, max_inconsistency: float, num_neighbours: int
) -> np.ndarray:
    """Mask [K]: matches whose distances to their nearest other matches agree in both cameras.

    Nearest neighbours (in A), not all matches: a wrong match to a neighbouring point of the
    same object barely changes its distances to far-away matches but changes the short ones
    by a large relative amount.
    """
    k = min(num_neighbours, len(dist_a) - 1)
    order = np.argsort(dist_a + np.diag(np.full(len(dist_a), np.inf)), axis=1)[:, :k]  # [K, k]
    da = np.take_along_axis(dist_a, order, axis=1)
    db = np.take_along_axis(dist_b, order, axis=1)
    rel = np.abs(da - db) / np.maximum(0.5 * (da + db), 1e-12)
    return np.median(rel, axis=1) <= max_inconsistency


def _checked_where_seen(keep: np.ndarray, share: np.ndarray | None) -> np.ndarray:
    """``keep`` [K] overruled where the consensus offset has evidence (share not NaN): a match
    is kept when it agrees there at least half the time. No consensus (None) leaves it as is."""
    if share is None:
        return keep
    return np.where(np.isnan(share), keep, share >= 0.5)


def _epipolar_inliers(F: np.ndarray, uv_a: np.ndarray, uv_b: np.ndarray, num_sigma: float = 3.0) -> np.ndarray:
    """Mask [K]: matches whose mean pixels lie within ``num_sigma`` robust sigmas of the epipolar line.

    The threshold adapts to the data (median absolute error scaled to a Gaussian sigma), as
    time-mean pixels of moving points are only approximately epipolar-consistent.
    """
    err = np.abs(sampson_distance_px(F, uv_a, uv_b))
    sigma = SIGMA_PER_MAD * float(np.median(err))
    return err <= num_sigma * max(sigma, 1e-9)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _robustly_scaled(cost: np.ndarray) -> np.ndarray:
    """Cost divided by its median, so descriptor units do not set the FGW trade-off."""
    med = float(np.median(cost))
    return cost / med if med > 0 else cost


def _empty(a: TrackSet, b: TrackSet) -> Correspondences:
    none = np.zeros(0, dtype=np.int64)
    return Correspondences(a.camera, b.camera, none, none.copy(), np.zeros(0, np.float32), float("inf"))
