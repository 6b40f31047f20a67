"""Sub-frame refinement of a pair offset on spline-interpolated matched tracks.

Around the integer lag, B's matched tracks are evaluated (cubic spline) at A's stamps shifted by
a continuous offset, and the offset minimizing the misalignment is found by a bounded 1D search:
- 3D in one shared frame (calibrated extrinsics): the position difference itself;
- 3D in each camera's own frame: the difference after the best similarity transform (Umeyama),
  re-fitted at every candidate offset, since the frames differ by an unknown similarity;
- RGB-only with calibration: the Sampson epipolar error of the matched pixels;
- RGB-only without calibration: the difference of median-normalized image speeds (weakest).
Tracks whose residual is an outlier at the integer lag (wrong matches) are dropped first.

The standard deviation is the cluster-robust (sandwich) variance with one cluster per track:
it stays honest when a track's residuals are correlated in time or matches are imperfect, where
a textbook ``sigma^2 / J^T J`` would be overconfident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from s4_core.camera import PinholeCamera
from s4_core.matching.epipolar import fundamental_matrix, sampson_distance_px
from s4_core.robust_stats import SIGMA_PER_MAD
from s4_core.sync.matched_motion import MatchedTracks, TrackSpline

Residual = Callable[[float], np.ndarray]  # offset_s -> residuals [T_a, K, R]


@dataclass(frozen=True)
class SubframeConfig:
    """Hyperparameters of :func:`refine_offset_subframe`.

    Attributes:
        bracket_steps: search +- this many grid steps around the integer lag.
        outlier_mads: tracks whose RMS residual exceeds median + this many MADs are dropped.
        outlier_passes: rounds of (outlier rejection, 1D minimization).
        smoothing_cutoff_nyquist: half-power frequency of the smoothing spline fitted to B's
            tracks, as a fraction of B's Nyquist frequency; None interpolates (see
            :class:`TrackSpline`).
        min_tracks: fewer inlier tracks than this gives no estimate.
    """

    bracket_steps: float = 2.0
    outlier_mads: float = 3.0
    outlier_passes: int = 2
    smoothing_cutoff_nyquist: float | None = 0.5
    min_tracks: int = 4


@dataclass(frozen=True)
class SubframeOffset:
    """A continuous pair offset (B's stamp minus A's stamp of one instant).

    Attributes:
        offset_s: the offset, seconds.
        stddev_s: one standard deviation, seconds (inf when not estimable).
        rms_residual: RMS misalignment at the optimum (units of the residual).
        num_tracks: inlier tracks used.
        t_a_s: A's stamp at which the offset holds: the centroid of the samples used, so clock
            drift over the window does not bias it (NaN when not estimable).
    """

    offset_s: float
    stddev_s: float
    rms_residual: float
    num_tracks: int
    t_a_s: float


def refine_offset_subframe(
    tracks: MatchedTracks,
    lag_offset_s: float,
    config: SubframeConfig = SubframeConfig(),
    cameras: tuple[PinholeCamera, PinholeCamera] | None = None,
    shared_frame: bool = False,
) -> SubframeOffset:
    """Continuous offset minimizing the misalignment of matched trajectories, with stddev.

    Args:
        tracks: matched tracks of the pair.
        lag_offset_s: the integer-lag offset to refine around, seconds.
        config: hyperparameters.
        cameras: calibrations (A, B), used in RGB-only mode.
        shared_frame: both cameras' xyz are in one calibrated world frame.
    """
    step = tracks.frame_period_s
    lo, hi = lag_offset_s - config.bracket_steps * step, lag_offset_s + config.bracket_steps * step
    spline = TrackSpline(tracks.times_b_s, tracks.pos_b, tracks.visible_b, cutoff_nyquist=config.smoothing_cutoff_nyquist)
    # One sample set for the whole bracket keeps the cost continuous in the offset.
    valid = tracks.visible_a & spline.valid_at(tracks.times_a_s + lo) & spline.valid_at(tracks.times_a_s + hi)
    residual = _residual_function(tracks, spline, valid, cameras, shared_frame)
    best = lag_offset_s
    # Outliers are judged again at the refined offset: at the integer lag, up to half a frame
    # of misalignment inflates every track's residual and hides wrong matches.
    for _ in range(config.outlier_passes):
        weight = _inlier_weights(residual(best), valid, tracks.weight, config.outlier_mads)
        if np.count_nonzero(weight) < config.min_tracks:
            return SubframeOffset(lag_offset_s, float("inf"), float("nan"), int(np.count_nonzero(weight)), float("nan"))
        cost = lambda offset: float(np.sum(weight[None, :, None] * residual(offset) ** 2))
        best = minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4 * step}).x
    stddev = _cluster_robust_stddev(residual, best, weight, 1e-2 * step)
    r = residual(best)
    samples = weight[None, :] * valid  # [T_a, K]
    rms = float(np.sqrt(np.sum(samples[..., None] * r**2) / max(np.sum(samples) * r.shape[2], 1e-300)))
    t_a_s = float(np.sum(samples * tracks.times_a_s[:, None]) / np.sum(samples))
    return SubframeOffset(float(best), stddev, rms, int(np.count_nonzero(weight)), t_a_s)


def _residual_function(
    tracks: MatchedTracks,
    spline: TrackSpline,
    valid: np.ndarray,
    cameras: tuple[PinholeCamera, PinholeCamera] | None,
    shared_frame: bool,
) -> Residual:
    """The misalignment residual for the pair's mode, zero on invalid samples."""
    ta, pos_a = tracks.times_a_s, np.where(valid[..., None], tracks.pos_a, 0.0)
    mask = valid[..., None]
    if tracks.is_3d and shared_frame:
        return lambda offset: np.where(mask, pos_a - spline(ta + offset)[0], 0.0)
    if tracks.is_3d:
        return lambda offset: np.where(mask, pos_a - _similarity_aligned(spline(ta + offset)[0], pos_a, valid), 0.0)
    if cameras is not None:
        F = fundamental_matrix(*cameras)
        return lambda offset: np.where(mask, sampson_distance_px(F, pos_a, spline(ta + offset)[0])[..., None], 0.0)
    speed_a = np.linalg.norm(TrackSpline(ta, tracks.pos_a, tracks.visible_a).velocity(ta), axis=-1)
    speed_a = speed_a / max(np.median(speed_a[valid]), 1e-12)
    def speed_residual(offset: float) -> np.ndarray:
        speed_b = np.linalg.norm(spline.velocity(ta + offset), axis=-1)
        return np.where(mask, (speed_a - speed_b / max(np.median(speed_b[valid]), 1e-12))[..., None], 0.0)
    return speed_residual


def _similarity_aligned(src: np.ndarray, dst: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``src`` [T, K, 3] mapped by the similarity best aligning its valid samples onto ``dst`` (Umeyama)."""
    x, y = src[valid], dst[valid]
    mx, my = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mx, y - my
    U, S, Vt = np.linalg.svd(yc.T @ xc / len(x))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    scale = np.trace(np.diag(S) @ D) / max(np.mean(np.sum(xc**2, axis=1)), 1e-300)
    return scale * (src - mx) @ R.T + my


def _inlier_weights(r: np.ndarray, valid: np.ndarray, match_weight: np.ndarray, outlier_mads: float) -> np.ndarray:
    """Match weights [K] with outlier tracks (RMS residual beyond median + n MADs) set to 0."""
    n = valid.sum(axis=0)
    rms = np.sqrt(np.sum(r**2, axis=(0, 2)) / np.maximum(n * r.shape[2], 1))
    usable = n >= 3
    if not usable.any():
        return np.zeros_like(match_weight)
    med = np.median(rms[usable])
    mad = SIGMA_PER_MAD * np.median(np.abs(rms[usable] - med))
    return np.where(usable & (rms <= med + outlier_mads * max(mad, 1e-12 * med)), match_weight, 0.0)


def _cluster_robust_stddev(residual: Residual, offset_s: float, weight: np.ndarray, eps_s: float) -> float:
    """Sandwich stddev of the least-squares offset, one cluster per track."""
    r = residual(offset_s)
    J = (residual(offset_s + eps_s) - residual(offset_s - eps_s)) / (2 * eps_s)
    H = float(np.sum(weight[None, :, None] * J * J))
    g = weight * np.sum(J * r, axis=(0, 2))  # [K] score contribution of each track
    k = np.count_nonzero(weight)
    if H <= 0 or k < 2:
        return float("inf")
    return float(np.sqrt(k / (k - 1) * np.sum(g**2)) / H)
