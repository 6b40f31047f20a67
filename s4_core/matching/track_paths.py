"""Time-shift-invariant distances between the *paths* of tracks in two cameras.

A track's path is the set of places its point visited, with the time stamps dropped. Two
cameras sharing a world frame (calibrated rig) see the same surface point move along the same
path whatever their clock offset, and whatever part of the motion each one's window holds: the
samples of one lie on the other where their capture intervals overlap. A *partial chamfer*
distance -- the median distance from the samples of one path to the nearest sample of the other,
taking the better of the two directions -- is therefore small for the same point and large for
different points, without knowing the offset. Time-mean positions, in contrast, depend on which
interval each camera saw a moving point in, and are only comparable once the offset is known.

RGB-only with calibration, the analogue is the *epipolar chamfer*: the median over one path's
pixels of the smallest Sampson distance to the other path's pixels (the same point has, for each
of its pixels, a pixel of the other camera at the same instant on its epipolar line).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from s4_core.matching.epipolar import sampson_distance_px

SampleDistance = Callable[[np.ndarray, np.ndarray], np.ndarray]  # every sample pair: [n, S, D], [m, S', D] -> [n, m, S, S']

_ROWS_PER_CHUNK = 32  # bounds the [chunk, m, S, S] temporary


def spread_seen_frames(valid: np.ndarray, max_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Per track, ``max_samples`` of the frames that see it, evenly spread over them.

    Args:
        valid: [T, N] bool, frame t sees track n.
        max_samples: S.

    Returns:
        frames [N, S] and first [N, S]: whether each entry is the first of its frame. A track
        seen in fewer than S frames repeats them (first marks each once); one seen in none
        has no first entry.
    """
    counts = valid.sum(axis=0)  # [N]
    valid_first = np.argsort(~valid, axis=0, kind="stable")  # [T, N]: each track's valid frames first
    rank = np.floor((np.arange(max_samples) + 0.5)[None, :] * counts[:, None] / max_samples).astype(np.int64)  # [N, S]
    frames = np.take_along_axis(valid_first.T, np.minimum(rank, np.maximum(counts[:, None] - 1, 0)), axis=1)  # [N, S]
    first = np.ones(rank.shape, bool)
    first[:, 1:] = rank[:, 1:] != rank[:, :-1]
    return frames, first & (counts[:, None] > 0)


def path_samples(positions: np.ndarray, valid: np.ndarray, max_samples: int) -> np.ndarray:
    """At most ``max_samples`` valid samples of every track, evenly spread over its valid frames.

    Args:
        positions: [T, N, D] xyz or uv.
        valid: [T, N] bool.
        max_samples: S, samples kept per track.

    Returns:
        [N, S, D] float64; a track with fewer valid samples repeats some (harmless for a
        median of nearest distances), one without any is NaN.
    """
    if positions.shape[:2] != valid.shape:
        raise ValueError(f"positions {positions.shape} and valid {valid.shape} disagree")
    frames, first = spread_seen_frames(valid, max_samples)
    out = positions[frames, np.arange(valid.shape[1])[:, None]].astype(np.float64)  # [N, S, D]
    out[~first.any(axis=1)] = np.nan
    return out


def partial_chamfer(samples_a: np.ndarray, samples_b: np.ndarray, sample_distance: SampleDistance) -> np.ndarray:
    """[n, m]: the smaller of the two directed median nearest-sample distances between paths.

    The smaller direction, because one camera may see only part of the other's path (a shorter
    track, or a window shifted by the offset): the part must lie on the whole, not vice versa.

    Args:
        samples_a: [n, S, D] path samples of camera A (from :func:`path_samples`).
        samples_b: [m, S', D] path samples of camera B.
        sample_distance: distance of every sample pair, e.g. :func:`euclidean_sample_distance`.
    """
    if samples_a.ndim != 3 or samples_b.ndim != 3 or samples_a.shape[2] != samples_b.shape[2]:
        raise ValueError(f"samples must be [n, S, D] and [m, S', D], got {samples_a.shape}, {samples_b.shape}")
    out = np.empty((len(samples_a), len(samples_b)))
    for lo in range(0, len(samples_a), _ROWS_PER_CHUNK):
        d = sample_distance(samples_a[lo:lo + _ROWS_PER_CHUNK], samples_b)  # [c, m, S, S']
        a_to_b = np.median(d.min(axis=3), axis=2)
        b_to_a = np.median(d.min(axis=2), axis=2)
        out[lo:lo + _ROWS_PER_CHUNK] = np.minimum(a_to_b, b_to_a)
    return out


def euclidean_sample_distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Euclidean distance [n, m, S, S'] of every sample pair of x [n, S, D] and y [m, S', D]
    (3D paths in one world frame).

    Through |x|^2 + |y|^2 - 2 x.y, one matrix product: differencing broadcast [n, m, S, S', D]
    arrays and summing over D (3) was the largest cost of an unhinted FGW match. Path points
    lie metres from the origin and matter at centimetres, far above the float64 cancellation.
    """
    squared = (
        np.sum(x**2, axis=-1)[:, None, :, None]
        + np.sum(y**2, axis=-1)[None, :, None, :]
        - 2.0 * np.tensordot(x, y, axes=([2], [2])).transpose(0, 2, 1, 3)
    )  # fmt: skip
    return np.sqrt(np.maximum(squared, 0.0))


def epipolar_sample_distance(F: np.ndarray) -> SampleDistance:
    """Absolute Sampson distance, pixels, of every pixel pair of uv_a [n, S, 2] and uv_b [m, S', 2]
    under ``F`` (A to B)."""
    return lambda uv_a, uv_b: np.abs(sampson_distance_px(F, uv_a[:, None, :, None, :], uv_b[None, :, None, :, :]))
