"""Baseline offset estimators run beside s4 in the benchmark.

- zero offset: what message_filters' ApproximateTime assumes (stamps are already comparable);
- cross-correlation of per-camera image-motion energy (e.g. mean absolute frame difference);
- dynamic time warping of the same motion profiles.
Each takes a per-camera 1D signal [T] with its stamps and returns B's stamp minus A's stamp of
one instant, so they compare directly with :class:`~s4_core.sync.pair.PairOffset`.
"""

from __future__ import annotations

import numpy as np


def zero_offset_baseline() -> float:
    """ApproximateTime's implicit assumption: the pair offset is zero."""
    return 0.0


def offset_by_motion_energy_xcorr(
    stamps_a_s: np.ndarray, energy_a: np.ndarray, stamps_b_s: np.ndarray, energy_b: np.ndarray, max_offset_s: float = 5.0
) -> float:
    """Offset maximizing the overlap-normalized correlation of two motion-energy signals [T].

    B is linearly interpolated at A's stamps plus each candidate offset (grid: the finer frame
    period), and the peak is refined by a parabola through its neighbours.
    """
    step = float(min(np.median(np.diff(stamps_a_s)), np.median(np.diff(stamps_b_s))))
    offsets = np.arange(-int(max_offset_s / step), int(max_offset_s / step) + 1) * step
    scores = np.full(len(offsets), -np.inf)
    for i, offset in enumerate(offsets):
        t = stamps_a_s + offset
        inside = (t >= stamps_b_s[0]) & (t <= stamps_b_s[-1])
        if inside.sum() < 0.25 * len(t):
            continue
        x, y = energy_a[inside], np.interp(t[inside], stamps_b_s, energy_b)
        den = np.std(x) * np.std(y)
        scores[i] = float(np.mean((x - x.mean()) * (y - y.mean())) / den) if den > 0 else -np.inf
    best = int(np.argmax(scores))
    if 0 < best < len(scores) - 1 and np.all(np.isfinite(scores[best - 1 : best + 2])):
        s0, s1, s2 = scores[best - 1 : best + 2]
        curvature = s0 - 2 * s1 + s2
        if curvature < 0:
            return float(offsets[best] + 0.5 * step * (s0 - s2) / curvature)
    return float(offsets[best])


def offset_by_dtw(
    stamps_a_s: np.ndarray, signal_a: np.ndarray, stamps_b_s: np.ndarray, signal_b: np.ndarray
) -> float:
    """Offset as the median stamp difference along the DTW path of two z-scored signals [T].

    Plain DTW with fixed ends, as the usual baseline; it has no notion of partial overlap.
    """
    a = (signal_a - signal_a.mean()) / max(signal_a.std(), 1e-12)
    b = (signal_b - signal_b.mean()) / max(signal_b.std(), 1e-12)
    cost = np.abs(a[:, None] - b[None, :])
    acc = np.full((len(a) + 1, len(b) + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    i, j, diffs = len(a), len(b), []
    while i > 0 and j > 0:
        diffs.append(stamps_b_s[j - 1] - stamps_a_s[i - 1])
        step = int(np.argmin([acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]]))
        i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
    return float(np.median(diffs))
