"""Distance between two cameras' 3D tracks at the same capture instants.

Once the clock offset of a pair is known and both cameras track in one world frame, the same
surface point seen by both is at the same place at every instant: the median distance over
their common instants is the tracking error (centimetres), while a neighbouring point is off by
its separation at *every* instant. This is far sharper than any time-shift-invariant summary
(time means, paths), which is what the matcher needs before the offset is known.
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
    if a.xyz is None or b.xyz is None:
        raise ValueError("time-aligned distance needs 3D tracks on both sides")
    frames = np.unique(np.linspace(0, a.num_frames - 1, min(num_instants, a.num_frames)).round().astype(int))
    xa = np.where(a.visible[np.ix_(frames, index_a)][..., None], a.xyz[np.ix_(frames, index_a)].astype(np.float64), np.nan)  # [T, n, 3]
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


def _interpolate(tracks: TrackSet, index: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Positions [T, m, 3] of tracks ``index`` at ``times_s`` (linear; NaN without both ends)."""
    stamps_s = tracks.stamps_ns / 1e9
    k = np.searchsorted(stamps_s, times_s, side="right") - 1
    inside = (k >= 0) & (k < len(stamps_s) - 1)
    k = np.clip(k, 0, max(len(stamps_s) - 2, 0))
    xyz = np.where(tracks.visible[:, index][..., None], tracks.xyz[:, index], np.nan)
    if len(stamps_s) < 2:
        return np.full((len(times_s), len(index), 3), np.nan)
    w = ((times_s - stamps_s[k]) / (stamps_s[k + 1] - stamps_s[k]))[:, None, None]
    out = (1.0 - w) * xyz[k] + w * xyz[k + 1]
    out[~inside] = np.nan
    return out
