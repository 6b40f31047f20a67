"""Search of a pair offset that maximizes a consistency score, shared by the geometric timers.

The depth and the epipolar timers differ only in *what* they score at a candidate offset (B's
moving geometry against A's depth, or B's viewing rays against A's moving pixels). The search
around that score is the same: a grid over the candidate offsets, a peak that must stand out
from every other lobe, a bounded 1D refinement (the scores are smooth in the offset because
B's tracks are interpolated linearly in time), a stddev from the spread of the optimum over
independent blocks of A's frames, and the two directions of a pair combined with their
disagreement counted as error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from s4_core.sync.pair import PairOffset


@dataclass(frozen=True)
class Subsample:
    """The evidence one offset is scored on: some of A's frames (None: all) and one group of
    the scorer's B samples (tracks, rays) as ``(index, count)``, B's samples split into
    ``count`` interleaved groups (None: all)."""

    frames: np.ndarray | None = None
    group: tuple[int, int] | None = None


#: score(offsets_s [G], parts) -> [G, 2] (score, points used) per offset; ``parts`` is None
#: (every offset on all the evidence) or one :class:`Subsample` per offset. Scoring many
#: offsets in one call lets a scorer vectorize: the grid scan, and the refinements of the whole
#: window and of its subsamples, run in lockstep.
ScoreFn = Callable[[np.ndarray, "Sequence[Subsample] | None"], np.ndarray]


def one_at_a_time(score_one: Callable[[float, Subsample], tuple[float, float]]) -> ScoreFn:
    """A :data:`ScoreFn` from a scorer of one offset at a time."""

    def score(offsets_s: np.ndarray, parts: Sequence[Subsample] | None) -> np.ndarray:
        parts = [Subsample()] * len(offsets_s) if parts is None else parts
        return np.array([score_one(float(d), part) for d, part in zip(offsets_s, parts)]).reshape(-1, 2)

    return score


@dataclass(frozen=True)
class PeakCriteria:
    """When a score peak is an offset.

    Attributes:
        min_points: B points that must take part at the best offset.
        min_score: smallest acceptable peak score.
        min_peak_margin: the peak must beat every other lobe by this fraction of it.
        num_blocks: blocks of A's frames whose optima give the stddev.
        stddev_floor_frames: smallest stddev reported, in frames of the finer camera.
        num_groups: groups of B's samples (tracks, rays) whose optima give the stddev too.
        resolution_frames: the refinement stops when the optimum is bracketed this finely, in
            frames of the finer camera (a fifth of the stddev floor: finer costs golden-section
            steps and changes nothing the stddev can resolve).
    """

    min_points: int
    min_score: float
    min_peak_margin: float
    num_blocks: int = 6
    stddev_floor_frames: float = 0.01
    num_groups: int = 6
    resolution_frames: float = 0.002


@dataclass(frozen=True)
class SearchedOffset:
    """Result of :func:`search_offset`; ``reason`` is empty when it is an offset."""

    offset_s: float
    stddev_s: float
    peak: float
    rival: float
    points: int
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def offset_grid_s(period_s: float, max_offset_s: float, hint_s: float | None, hint_radius_s: float) -> np.ndarray:
    """Candidate offsets [G] every half frame: around the hint, or over +-``max_offset_s``."""
    centre, radius = (0.0, max_offset_s) if hint_s is None else (hint_s, hint_radius_s)
    return centre + np.arange(-radius, radius + 1e-9, 0.5 * period_s)


def search_offset(score: ScoreFn, grid_s: np.ndarray, num_frames: int, period_s: float, criteria: PeakCriteria) -> SearchedOffset:
    """The offset maximizing ``score`` over ``grid_s`` [G], refined, with its stddev."""
    values = score(np.asarray(grid_s, np.float64), None)  # [G, 2]
    finite = np.isfinite(values[:, 0])
    if not finite.any():
        return SearchedOffset(float("nan"), float("inf"), float("nan"), float("nan"), 0, "windows do not overlap")
    best = int(np.argmax(np.where(finite, values[:, 0], -np.inf)))
    peak, points = float(values[best, 0]), int(values[best, 1])
    rival = best_rival(values[:, 0], best)
    if points < criteria.min_points or peak < criteria.min_score:
        return SearchedOffset(float("nan"), float("inf"), peak, rival, points, f"weak motion agreement (score {peak:.3f}, {points} points)")
    if rival > (1.0 - criteria.min_peak_margin) * peak:
        return SearchedOffset(float("nan"), float("inf"), peak, rival, points, f"ambiguous offset (peak {peak:.3f}, rival {rival:.3f})")
    step_s = float(grid_s[1] - grid_s[0]) if len(grid_s) > 1 else 0.5 * period_s
    blocks = [Subsample(frames=b) for b in np.array_split(np.arange(num_frames), criteria.num_blocks) if len(b)]
    groups = [Subsample(group=(g, criteria.num_groups)) for g in range(criteria.num_groups)]
    parts = [Subsample(), *blocks, *groups]
    optima = refine_offsets(score, float(grid_s[best]), step_s, parts, criteria.resolution_frames * period_s)
    offset_s = float(optima[0])
    # Two sources of error, each invisible to the other's subsamples: which instants (blocks of
    # A's frames share B's samples) and which of B's samples (groups share A's instants).
    stddev_s = float(np.hypot(_standard_error(optima[1 : 1 + len(blocks)]), _standard_error(optima[1 + len(blocks) :])))
    return SearchedOffset(offset_s, max(stddev_s, criteria.stddev_floor_frames * period_s), peak, rival, points)


def _standard_error(optima: np.ndarray) -> float:
    """Standard error of the mean of subsample optima (inf from fewer than two)."""
    return float(np.std(optima, ddof=1) / np.sqrt(len(optima))) if len(optima) > 1 else float("inf")


def best_rival(scores: np.ndarray, best: int) -> float:
    """Highest score outside the peak's lobe (the run around ``best`` above half the peak).

    Scores on the flanks of a broad peak are not rivals; another lobe that comes close to the
    peak is (a periodic motion, or a repeated pattern, makes the offset ambiguous).
    """
    s = np.where(np.isfinite(scores), scores, -np.inf)
    above = s > 0.5 * s[best]
    lo, hi = best, best
    while lo > 0 and above[lo - 1]:
        lo -= 1
    while hi < len(s) - 1 and above[hi + 1]:
        hi += 1
    outside = np.concatenate([s[:lo], s[hi + 1 :]])
    return float(outside.max()) if outside.size and np.isfinite(outside.max()) else 0.0


def refine_offsets(score: ScoreFn, start_s: float, step_s: float, parts: Sequence[Subsample], xatol_s: float) -> np.ndarray:
    """Maxima [R] of ``score`` within one grid step of ``start_s``, one per subsample of
    ``parts`` [R] (the whole evidence, and the subsamples whose spread gives the stddev), each
    to within ``xatol_s``.

    Golden-section search, all R problems in lockstep: each iteration scores one new offset
    per problem in a single call, so a window and its subsamples cost the calls of one search.
    """
    invphi = (np.sqrt(5.0) - 1.0) / 2.0
    parts, n = list(parts), len(parts)

    def value(offsets_s: np.ndarray) -> np.ndarray:
        repeats = len(offsets_s) // n
        return np.nan_to_num(score(offsets_s, parts * repeats)[:, 0], nan=-1e9)

    lo, hi = np.full(n, start_s - step_s), np.full(n, start_s + step_s)
    c, d = hi - invphi * (hi - lo), lo + invphi * (hi - lo)
    fc, fd = np.split(value(np.concatenate([c, d])), 2)
    while np.max(hi - lo) > 2.0 * xatol_s:
        left = fc >= fd  # the maximum lies in [lo, d]; else in [c, hi]
        lo, hi = np.where(left, lo, c), np.where(left, d, hi)
        kept_f = np.where(left, fc, fd)  # the inner point that stays inner
        c, d = np.where(left, hi - invphi * (hi - lo), d), np.where(left, c, lo + invphi * (hi - lo))
        fresh = value(np.where(left, c, d))
        fc, fd = np.where(left, fresh, kept_f), np.where(left, kept_f, fresh)
    return 0.5 * (lo + hi)


def finer_period_s(stamps_a_s: np.ndarray, stamps_b_s: np.ndarray) -> float:
    """The shorter median frame interval of two stamp series [T], seconds."""
    periods = [float(np.median(np.diff(s))) for s in (stamps_a_s, stamps_b_s) if len(s) > 1]
    return min(periods) if periods else float("nan")


def combine_directions(forward: PairOffset, backward: PairOffset) -> PairOffset:
    """B-into-A and A-into-B estimates combined; their disagreement is part of the stddev.

    Each direction has its own biases (which faces each camera sees, where its tracks drift);
    the two directions measure the same offset, so half their difference is an honest,
    data-driven estimate of the error those biases leave, added to the statistical spread.
    """
    if not (forward.ok and backward.ok):
        failed = forward if not forward.ok else backward
        return replace(forward, ok=False, offset_s=float("nan"), stddev_s=float("inf"), reason=failed.reason)
    offset_s = 0.5 * (forward.offset_s - backward.offset_s)
    disagreement_s = 0.5 * (forward.offset_s + backward.offset_s)
    stddev_s = float(np.sqrt(0.25 * (forward.stddev_s**2 + backward.stddev_s**2) + disagreement_s**2))
    return replace(forward, offset_s=offset_s, stddev_s=stddev_s, num_matches=forward.num_matches + backward.num_matches)
