"""Distance between two cameras' tracks at the same capture instants.

Once the clock offset of a pair is known and both cameras track in one world frame, the same
surface point seen by both is at the same place at every instant: the median distance over
their common instants is the tracking error (centimetres), while a neighbouring point is off by
its separation at *every* instant. This is far sharper than any time-shift-invariant summary
(time means, paths), which is what the matcher needs before the offset is known. Before it is,
the same distance over every candidate offset still checks that a pair's matches agree on one
offset (:func:`share_at_consensus_offset`); RGB-only with calibration, so does the distance of
each pixel to its partner's epipolar line.
"""

from __future__ import annotations

import numpy as np

from s4_core.matching.epipolar import sampson_distance_px
from s4_core.matching.track_paths import spread_seen_frames
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


def share_at_consensus_offset(
    a: TrackSet,
    index_a: np.ndarray,
    b: TrackSet,
    index_b: np.ndarray,
    tolerance: float,
    min_support: int,
    fundamental: np.ndarray | None = None,
    min_common: int = 5,
) -> np.ndarray | None:
    """For each match (A's ``index_a[k]``, B's ``index_b[k]``), the share [K] of its common
    instants at which the two agree within ``tolerance``, at the clock offset most matches agree on.

    Before the offset is known, a match to a *neighbouring* point of the same moving body can
    look as good as the right one (same path, same motion); but a pair of cameras has one
    offset, and only the right matches all agree with their partner at it (at most of their
    common instants). Every offset at which the windows overlap is tried (on the finer frame
    grid), and the one that the most matches support (a share of at least one half: a median
    residual within the tolerance) wins. A match with a share below one half there contradicts
    it; NaN marks a match seen at fewer than ``min_common`` common instants there, which carries
    no evidence either way. None when there is no clear consensus (fewer than ``min_support``
    supporters): the check removes outliers, it does not time the pair.

    Args:
        a: camera A's tracks.
        index_a: A's track of each match [K].
        b: camera B's tracks (3D in A's world frame, or calibrated pixels).
        index_b: B's track of each match [K].
        tolerance: metres between the 3D points, or with ``fundamental`` pixels of Sampson
            distance between the two pixels.
        min_support: fewer supporters than this is no consensus.
        fundamental: F [3, 3] from A's pixels to B's; None compares 3D points.
        min_common: fewer common instants than this is no evidence.
    """
    if len(index_a) == 0 or min(a.num_frames, b.num_frames) < 2:
        return None
    stamps_a_s, stamps_b_s = a.stamps_ns / 1e9, b.stamps_ns / 1e9
    step_s = min(float(np.median(np.diff(stamps_a_s))), float(np.median(np.diff(stamps_b_s))))
    first_s = stamps_b_s[0] - stamps_a_s[-1]
    num_offsets = int(np.floor((stamps_b_s[-1] - stamps_a_s[0] - first_s) / step_s)) + 1

    share = paired_share_within(a, index_a, b, index_b, first_s, step_s, num_offsets, tolerance, min_common, fundamental)  # [L, K]
    support = np.count_nonzero(share >= 0.5, axis=1)
    best = int(np.argmax(support))
    return share[best] if support[best] >= min_support else None


def paired_share_within(
    a: TrackSet,
    index_a: np.ndarray,
    b: TrackSet,
    index_b: np.ndarray,
    first_offset_s: float,
    step_s: float,
    num_offsets: int,
    tolerance: float,
    min_common: int,
    fundamental: np.ndarray | None = None,
    num_instants: int = 30,
    pairs_per_chunk: int = 8,
) -> np.ndarray:
    """Share [L, K] of the common instants at which A's track ``index_a[k]`` and B's
    ``index_b[k]`` (pairs, not all combinations) agree within ``tolerance``, at each of the
    ``num_offsets`` offsets ``first_offset_s + l * step_s``; NaN where they share fewer than
    ``min_common`` instants. The residual is as in :func:`share_at_consensus_offset`.

    Each pair is compared at ``num_instants`` frames spread over those at which *A sees its
    track*, not over A's whole window: a moving point is often seen for a few seconds only, and
    evenly spaced window frames would leave it a handful of instants, fewer still once the
    offset shifts B's view of it away. B's tracks are resampled once on a grid of ``step_s``:
    an offset one step further then reads the next grid sample, so all offsets of one instant
    are a single strided slice of the grid, with one interpolation weight.
    """
    positions_a, positions_b = _positions(a, fundamental), _positions(b, fundamental)
    frames, first = spread_seen_frames(a.visible[:, index_a], num_instants)
    frames, first = frames.T, first.T  # [T, K]
    pairs = np.broadcast_to(np.arange(len(index_a)), frames.shape)
    xa = np.where(first[..., None], positions_a[frames, index_a[pairs]], np.nan).astype(np.float32)  # [T, K, D]
    stamps_b_s = b.stamps_ns / 1e9
    grid_s = stamps_b_s[0] + step_s * np.arange(int(np.floor((stamps_b_s[-1] - stamps_b_s[0]) / step_s)) + 1)
    seen_b = _visible_positions(b, index_b, positions_b).astype(np.float32)
    grid = _interpolate_positions(stamps_b_s, seen_b, grid_s)  # [G, K, D]
    # Grid position of each instant at the first offset: integer part and interpolation weight.
    position = (a.stamps_ns[frames] / 1e9 + first_offset_s - grid_s[0]) / step_s  # [T, K]
    start = np.floor(position).astype(np.int64)
    weight = (position - start).astype(np.float32)[..., None, None]  # [T, K, 1, 1]
    # Pad the grid with NaN so that every slice [start, start + num_offsets] lies inside it.
    pad_lo = max(0, -int(start.min()))
    pad_hi = max(0, int(start.max()) + num_offsets + 1 - len(grid_s))
    grid = np.pad(grid, ((pad_lo, pad_hi), (0, 0), (0, 0)), constant_values=np.nan).transpose(1, 0, 2)  # [K, G', D]
    windows = np.lib.stride_tricks.sliding_window_view(grid, num_offsets + 1, axis=1)  # [K, G'', D, L + 1]
    out = np.empty((num_offsets, len(index_a)))
    for lo in range(0, len(index_a), pairs_per_chunk):
        part = slice(lo, lo + pairs_per_chunk)
        near = windows[pairs[:, part], start[:, part] + pad_lo]  # [T, K', D, L + 1]
        xb = near[..., :-1]
        xb += weight[:, part] * (near[..., 1:] - xb)
        residual = _residual(xa[:, part, :, None], xb, fundamental)  # [T, K', L]
        common = np.count_nonzero(~np.isnan(residual), axis=0)
        within = np.count_nonzero(residual <= tolerance, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, part] = np.where(common >= min_common, within / common, np.nan).T
    return out


def _positions(tracks: TrackSet, fundamental: np.ndarray | None) -> np.ndarray:
    """The positions compared: pixels under an epipolar residual, else 3D points."""
    if fundamental is not None:
        return tracks.uv
    if tracks.xyz is None:
        raise ValueError("time-aligned distance needs 3D tracks on both sides, or a fundamental matrix")
    return tracks.xyz


def _residual(xa: np.ndarray, xb: np.ndarray, fundamental: np.ndarray | None) -> np.ndarray:
    """[T, K, L] from A's positions [T, K, D, 1] and B's [T, K, D, L] (B's is overwritten):
    the 3D distance, or the absolute Sampson distance in pixels under ``fundamental``."""
    if fundamental is not None:
        return np.abs(sampson_distance_px(fundamental, np.moveaxis(xa, -2, -1), np.moveaxis(xb, -2, -1)))
    xb -= xa
    return np.sqrt(np.einsum("tkdl,tkdl->tkl", xb, xb))


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


def _visible_positions(tracks: TrackSet, index: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
    """Tracks ``index`` over all frames [F, m, D] of ``positions`` (default: xyz), NaN where unseen."""
    positions = tracks.xyz if positions is None else positions
    return np.where(tracks.visible[:, index][..., None], positions[:, index], np.nan)


def _interpolate_positions(stamps_s: np.ndarray, xyz: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """``xyz`` [F, m, D] stamped ``stamps_s`` [F] at ``times_s`` [T]: [T, m, D] (linear; NaN
    outside the stamps and where either end is NaN)."""
    if len(stamps_s) < 2:
        return np.full((len(times_s),) + xyz.shape[1:], np.nan)
    k = np.searchsorted(stamps_s, times_s, side="right") - 1
    inside = (k >= 0) & (k < len(stamps_s) - 1)
    k = np.clip(k, 0, len(stamps_s) - 2)
    w = ((times_s - stamps_s[k]) / (stamps_s[k + 1] - stamps_s[k])).astype(xyz.dtype)[:, None, None]
    out = xyz[k]
    out += w * (xyz[k + 1] - out)
    out[~inside] = np.nan
    return out
