"""Integer-lag alignment of matched tracks: the SyncTrack4D frame-level step.

The pair offset is searched on a grid of the finer frame period over +-``max_offset_s``. Each
candidate shifts B's matched tracks onto A's stamps (interpolation, so 30 vs 25 fps need no
common index) and scores how well the *motion* overlaps: the correlation of speed profiles (3D,
or image speed without calibration) or, with calibration in RGB-only mode, the epipolar
consistency of the matched pixels. Scores are means over the overlapping samples, so a short
overlap cannot win by summing less disagreement. A lag is accepted only when its peak clearly
beats every other local peak: static scenes and unrelated cameras give flat or multi-peaked
curves and are reported as "no lag evidence", never as a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.matching.epipolar import fundamental_matrix, sampson_distance_px
from s4_core.sync.matched_motion import MatchedTracks, speed_profiles


@dataclass(frozen=True)
class LagSearchConfig:
    """Hyperparameters of :func:`frame_lag_by_motion_overlap`.

    Attributes:
        max_offset_s: search range, +- seconds (must stay below the window length).
        min_overlap_fraction: a track counts at a lag when at least this fraction of A's
            frames overlap valid B samples.
        min_tracks: a lag needs this many counting tracks (or all, when fewer are matched).
        min_peak_score: the best score must reach this (correlation / inlier fraction).
        min_peak_margin: and beat the second-highest local peak by this much.
        epipolar_sigma_px: pixel noise scale of the epipolar score (RGB-only, calibrated).
    """

    max_offset_s: float = 5.0
    min_overlap_fraction: float = 0.1
    min_tracks: int = 3
    min_peak_score: float = 0.5
    min_peak_margin: float = 0.1
    epipolar_sigma_px: float = 2.0


@dataclass(frozen=True)
class LagEstimate:
    """Result of the integer-lag search.

    Attributes:
        offset_s: best pair offset on the grid (B's stamp minus A's stamp), seconds.
        lag_frames: the same in grid steps.
        step_s: grid step (finer frame period), seconds.
        score: motion-overlap score at the best lag.
        margin: best score minus the second-highest local peak.
        ok: the peak is distinct and high enough to be trusted.
        reason: why not, when not ok.
    """

    offset_s: float
    lag_frames: int
    step_s: float
    score: float
    margin: float
    ok: bool
    reason: str = ""


def frame_lag_by_motion_overlap(
    tracks: MatchedTracks,
    config: LagSearchConfig = LagSearchConfig(),
    cameras: tuple[PinholeCamera, PinholeCamera] | None = None,
) -> LagEstimate:
    """The grid offset that maximizes the overlap of the matched tracks' motion.

    Args:
        tracks: matched tracks of the pair.
        config: search hyperparameters.
        cameras: calibrations of A and B, used in RGB-only mode for the epipolar score.

    Returns:
        The best lag and whether it is trustworthy.
    """
    step = tracks.frame_period_s
    lags = np.arange(-int(config.max_offset_s / step), int(config.max_offset_s / step) + 1)
    scores = lag_scores(tracks, lags * step, config, cameras)
    if not np.any(np.isfinite(scores)):
        return LagEstimate(0.0, 0, step, float("nan"), 0.0, False, "no lag with enough overlapping motion")
    best = int(np.nanargmax(scores))
    margin = scores[best] - _second_peak(scores, best)
    reason = ""
    if scores[best] < config.min_peak_score:
        reason = f"weak motion agreement (score {scores[best]:.2f} < {config.min_peak_score})"
    elif margin < config.min_peak_margin:
        reason = f"ambiguous lag (peak margin {margin:.2f} < {config.min_peak_margin})"
    return LagEstimate(float(lags[best] * step), int(lags[best]), step, float(scores[best]), float(margin), not reason, reason)


def lag_scores(
    tracks: MatchedTracks,
    offsets_s: np.ndarray,
    config: LagSearchConfig,
    cameras: tuple[PinholeCamera, PinholeCamera] | None = None,
) -> np.ndarray:
    """Motion-overlap score [L] for each candidate pair offset [L] (NaN: too little overlap)."""
    if not tracks.is_3d and cameras is not None:
        F = fundamental_matrix(*cameras)
        a, va = tracks.pos_a, tracks.visible_a
        b, vb = tracks.pos_b, tracks.visible_b
        score_fn = lambda x, y: np.exp(-0.5 * (sampson_distance_px(F, x, y) / config.epipolar_sigma_px) ** 2)
        return _scores_over_offsets(tracks, a, va, b, vb, offsets_s, config, lambda x, y, m: _mean_score(score_fn(x, y), m))
    sa, va = speed_profiles(tracks.times_a_s, tracks.pos_a, tracks.visible_a)
    sb, vb = speed_profiles(tracks.times_b_s, tracks.pos_b, tracks.visible_b)
    return _scores_over_offsets(tracks, sa[..., None], va, sb[..., None], vb, offsets_s, config, _pearson)


def _scores_over_offsets(tracks, sig_a, valid_a, sig_b, valid_b, offsets_s, config, per_track_score) -> np.ndarray:
    """Weighted mean over tracks of ``per_track_score`` for B's signal shifted by each offset."""
    ta, tb = tracks.times_a_s, tracks.times_b_s
    min_samples = config.min_overlap_fraction * len(ta)
    out = np.full(len(offsets_s), np.nan)
    filled_b = np.where(valid_b[..., None], sig_b, 0.0)
    for i, offset in enumerate(offsets_s):
        t = ta + offset
        inside = (t >= tb[0]) & (t <= tb[-1])
        hi = np.clip(np.searchsorted(tb, t), 1, len(tb) - 1)
        frac = ((t - tb[hi - 1]) / (tb[hi] - tb[hi - 1]))[:, None, None]
        shifted = (1 - frac) * filled_b[hi - 1] + frac * filled_b[hi]  # [T_a, K, D]
        mask = valid_a & valid_b[hi - 1] & valid_b[hi] & inside[:, None]  # [T_a, K]
        n = mask.sum(axis=0)
        use = n >= min_samples
        if use.sum() < min(config.min_tracks, tracks.num_matches) or use.sum() == 0:
            continue
        score = per_track_score(sig_a[:, use], shifted[:, use], mask[:, use])  # [K']
        w = tracks.weight[use] * n[use]
        out[i] = float(np.sum(w * score) / np.sum(w))
    return out


def _pearson(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-track correlation [K] of 1D signals [T, K, 1] over the masked samples."""
    x, y = np.where(mask, x[..., 0], 0.0), np.where(mask, y[..., 0], 0.0)
    n = mask.sum(axis=0)
    mx, my = x.sum(axis=0) / n, y.sum(axis=0) / n
    dx, dy = np.where(mask, x - mx, 0.0), np.where(mask, y - my, 0.0)
    den = np.sqrt((dx * dx).sum(axis=0) * (dy * dy).sum(axis=0))
    return np.where(den > 0, (dx * dy).sum(axis=0) / np.maximum(den, 1e-300), 0.0)


def _mean_score(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-track mean [K] of per-sample scores [T, K] over the masked samples."""
    return np.where(mask, values, 0.0).sum(axis=0) / mask.sum(axis=0)


def _second_peak(scores: np.ndarray, best: int) -> float:
    """Highest local maximum of the score curve other than the one at ``best``.

    The main lobe is walked down on both sides first, so its shoulders do not count.
    """
    s = np.where(np.isfinite(scores), scores, -np.inf)
    lo = best
    while lo > 0 and s[lo - 1] <= s[lo]:
        lo -= 1
    hi = best
    while hi < len(s) - 1 and s[hi + 1] <= s[hi]:
        hi += 1
    rest = np.concatenate([s[:lo], s[hi + 1:]])
    return float(rest.max()) if rest.size and np.isfinite(rest.max()) else float(np.nanmin(scores))
