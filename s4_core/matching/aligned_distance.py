"""Distance between two cameras' 3D tracks at the same capture instants.

Once the clock offset of a pair is known and both cameras track in one world frame, the same
surface point seen by both is at the same place at every instant: the median distance over
their common instants is the tracking error (centimetres), while a neighbouring point is off by
its separation at *every* instant. This is far sharper than any time-shift-invariant summary
(time means, paths), which is what the matcher needs before the offset is known. Before it is,
the same distance over every candidate offset still checks that a pair's matches agree on one
offset (:func:`offset_consistent_matches`).
"""

from __future__ import annotations

import numpy as np

from s4_core.robust_stats import nanmedian_over_first_axis
from s4_core.tracks import TrackSet


def time_aligned_distance(
    a: TrackSet,
    index_a: np.ndarray,
    b: TrackSet,
    index_b: np.ndarray,
    offset_s: float,
    num_instants: int = 30,
    min_common: int = 5,
) -> np.ndarray:
    """Median distance [n, m] between A's tracks ``index_a`` and B's ``index_b`` over common instants.

    Args:
        a: camera A's tracks (3D, same world frame as B).
        index_a: tracks of A to compare [n].
        b: camera B's tracks.
        index_b: tracks of B to compare [m].
        offset_s: B's stamp minus A's stamp of one instant.
        num_instants: A frames sampled evenly over the window (bounds memory and time).
        min_common: pairs seen together at fewer instants get ``inf``.
    """
    frames, xa = _sampled_positions(a, index_a, b, num_instants)  # [T, n, 3]
    xb = _interpolate(b, index_b, a.stamps_ns[frames] / 1e9 + offset_s).astype(np.float64)  # [T, m, 3]
    # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, one matrix product per instant instead of a [T, n, m, 3]
    # difference; float64 keeps the cancellation error far below the centimetres compared.
    # A NaN (invisible) point turns its whole row or column NaN, as the difference would. In
    # place: the [T, n, m] temporaries cost more than the arithmetic.
    d = np.matmul(xa, xb.transpose(0, 2, 1))  # [T, n, m]: a.b, then |a - b|^2, then |a - b|
    d *= -2.0
    d += (xa**2).sum(axis=-1)[:, :, None]
    d += (xb**2).sum(axis=-1)[:, None, :]
    np.sqrt(np.maximum(d, 0.0, out=d), out=d)
    common = np.count_nonzero(~np.isnan(d), axis=0)
    median = nanmedian_over_first_axis(d) if d.size else np.zeros(common.shape)
    return np.where(common >= min_common, median, np.inf)


def offset_consistent_matches(
    a: TrackSet, index_a: np.ndarray, b: TrackSet, index_b: np.ndarray, tolerance_m: float, min_support: int
) -> np.ndarray:
    """Mask [K]: matches (A's ``index_a[k]``, B's ``index_b[k]``) that agree with one clock offset.

    Before the offset is known, a match to a *neighbouring* point of the same moving body can
    look as good as the right one (same path, same motion); but a pair of cameras has one
    offset, and only the right matches all lie within ``tolerance_m`` of their partner at it
    (at most of their common instants). Every offset at which the windows overlap is tried (on
    the finer frame grid); the one that the most matches support wins, and the matches it
    contradicts (seen at common instants, but mostly farther apart) are dropped. Matches never
    seen at common instants there carry no evidence and stay. Without a clear consensus (fewer
    than ``min_support`` supporters) nothing is dropped: the check removes outliers, it does
    not time the pair.
    """
    keep = np.ones(len(index_a), bool)
    if len(index_a) == 0 or min(a.num_frames, b.num_frames) < 2:
        return keep
    stamps_a_s, stamps_b_s = a.stamps_ns / 1e9, b.stamps_ns / 1e9
    step_s = min(float(np.median(np.diff(stamps_a_s))), float(np.median(np.diff(stamps_b_s))))
    offsets_s = np.arange(stamps_b_s[0] - stamps_a_s[-1], stamps_b_s[-1] - stamps_a_s[0] + step_s, step_s)
    share = paired_share_within(a, index_a, b, index_b, offsets_s, tolerance_m)  # [L, K]
    support = np.count_nonzero(share >= 0.5, axis=1)
    best = int(np.argmax(support))
    if support[best] < min_support:
        return keep
    return ~(share[best] < 0.5)  # NaN (no common instants) stays


def paired_share_within(
    a: TrackSet,
    index_a: np.ndarray,
    b: TrackSet,
    index_b: np.ndarray,
    offsets_s: np.ndarray,
    tolerance_m: float,
    num_instants: int = 30,
    min_common: int = 5,
    offsets_per_chunk: int = 64,
) -> np.ndarray:
    """Share [L, K] of the common instants at which A's track ``index_a[k]`` and B's
    ``index_b[k]`` (pairs, not all combinations) lie within ``tolerance_m``, for each offset
    [L]; NaN where they share fewer than ``min_common`` instants. A share of at least one half
    is a median distance within the tolerance, without sorting. Other arguments as
    :func:`time_aligned_distance`."""
    frames, xa = _sampled_positions(a, index_a, b, num_instants)  # [T, K, 3]
    xa = xa.astype(np.float32)  # positions are metres, the tolerance centimetres
    times_s = a.stamps_ns[frames] / 1e9
    stamps_b_s, xb_frames = b.stamps_ns / 1e9, _visible_positions(b, index_b).astype(np.float32)  # [F, K, 3]
    out = np.empty((len(offsets_s), len(index_a)))
    for lo in range(0, len(offsets_s), offsets_per_chunk):
        chunk = np.asarray(offsets_s[lo:lo + offsets_per_chunk], np.float64)
        xb = _interpolate_positions(stamps_b_s, xb_frames, (chunk[:, None] + times_s[None, :]).ravel())  # [L'T, K, 3]
        xb = xb.reshape(len(chunk), len(times_s), -1, 3)
        xb -= xa[None]
        squared = np.einsum("ltkd,ltkd->ltk", xb, xb)  # [L', T, K]
        common = np.count_nonzero(~np.isnan(squared), axis=1)
        within = np.count_nonzero(squared <= tolerance_m**2, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo:lo + len(chunk)] = np.where(common >= min_common, within / common, np.nan)
    return out


def _sampled_positions(a: TrackSet, index_a: np.ndarray, b: TrackSet, num_instants: int) -> tuple[np.ndarray, np.ndarray]:
    """A's frames sampled evenly over its window [T] and its tracks ``index_a`` there [T, n, 3]
    (float64, NaN where unseen)."""
    if a.xyz is None or b.xyz is None:
        raise ValueError("time-aligned distance needs 3D tracks on both sides")
    frames = np.unique(np.linspace(0, a.num_frames - 1, min(num_instants, a.num_frames)).round().astype(int))
    xa = np.where(a.visible[np.ix_(frames, index_a)][..., None], a.xyz[np.ix_(frames, index_a)].astype(np.float64), np.nan)
    return frames, xa


def _interpolate(tracks: TrackSet, index: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Positions [T, m, 3] of tracks ``index`` at ``times_s`` (linear; NaN without both ends)."""
    return _interpolate_positions(tracks.stamps_ns / 1e9, _visible_positions(tracks, index), times_s)


def _visible_positions(tracks: TrackSet, index: np.ndarray) -> np.ndarray:
    """Tracks ``index`` over all frames [F, m, 3], NaN where unseen."""
    return np.where(tracks.visible[:, index][..., None], tracks.xyz[:, index], np.nan)


def _interpolate_positions(stamps_s: np.ndarray, xyz: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """``xyz`` [F, m, 3] stamped ``stamps_s`` [F] at ``times_s`` [T]: [T, m, 3] (linear; NaN
    outside the stamps and where either end is NaN)."""
    if len(stamps_s) < 2:
        return np.full((len(times_s), xyz.shape[1], 3), np.nan)
    k = np.searchsorted(stamps_s, times_s, side="right") - 1
    inside = (k >= 0) & (k < len(stamps_s) - 1)
    k = np.clip(k, 0, len(stamps_s) - 2)
    w = ((times_s - stamps_s[k]) / (stamps_s[k + 1] - stamps_s[k])).astype(xyz.dtype)[:, None, None]
    out = xyz[k]
    out += w * (xyz[k + 1] - out)
    out[~inside] = np.nan
    return out
