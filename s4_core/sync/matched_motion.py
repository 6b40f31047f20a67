"""Matched tracks of a camera pair as continuous-time signals.

Both the integer-lag search and the sub-frame refinement compare camera A's tracks at A's
stamps with camera B's *interpolated* tracks at those stamps shifted by a candidate offset, so
different frame rates (30 vs 25 fps) need no common frame index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline, make_smoothing_spline

from s4_core.arrays import finite_points
from s4_core.clock import ns_to_seconds
from s4_core.correspondences import Correspondences
from s4_core.matching.track_geometry import motion_to_noise_ratio
from s4_core.tracks import TrackSet


@dataclass(frozen=True)
class MatchedTracks:
    """The matched subset of two TrackSets, aligned by match index k.

    Attributes:
        times_a_s: A's stamps [T_a], seconds (A's clock).
        times_b_s: B's stamps [T_b], seconds (B's clock).
        pos_a: A's positions [T_a, K, D] (xyz or uv; NaN where not visible).
        pos_b: B's positions [T_b, K, D].
        visible_a: [T_a, K] bool.
        visible_b: [T_b, K] bool.
        weight: match weights [K].
        is_3d: positions are xyz.
    """

    times_a_s: np.ndarray
    times_b_s: np.ndarray
    pos_a: np.ndarray
    pos_b: np.ndarray
    visible_a: np.ndarray
    visible_b: np.ndarray
    weight: np.ndarray
    is_3d: bool

    @property
    def num_matches(self) -> int:
        return len(self.weight)

    @property
    def frame_period_s(self) -> float:
        """The finer of the two frame periods: the natural step of a lag search."""
        return float(min(np.median(np.diff(self.times_a_s)), np.median(np.diff(self.times_b_s))))

    def take(self, index: np.ndarray) -> "MatchedTracks":
        """The same pair restricted to matches ``index``."""
        return MatchedTracks(
            self.times_a_s, self.times_b_s, self.pos_a[:, index], self.pos_b[:, index],
            self.visible_a[:, index], self.visible_b[:, index], self.weight[index], self.is_3d,
        )


def gather_matched_tracks(
    a: TrackSet, b: TrackSet, corr: Correspondences, max_matches: int, min_motion_snr: float = 3.0
) -> MatchedTracks:
    """Pull the matched tracks out of two TrackSets, keeping the ``max_matches`` that move most.

    Only moving tracks carry timing information; static ones (a room's walls are most of a
    real scene) only dilute the motion scores. Motion is measured scale-free in A as the
    ratio of a track's spread over the window to its frame-to-frame noise (second differences).

    Args:
        a: camera A's tracks (``corr.cam_a``).
        b: camera B's tracks (``corr.cam_b``).
        corr: matches between them.
        max_matches: bound on K, for speed.
        min_motion_snr: tracks whose motion-to-noise ratio is below this are left out.
    """
    if (corr.cam_a, corr.cam_b) != (a.camera, b.camera):
        raise ValueError(f"correspondences are {corr.cam_a}->{corr.cam_b}, tracks {a.camera}->{b.camera}")
    index_a = {int(t): i for i, t in enumerate(a.track_ids)}
    index_b = {int(t): i for i, t in enumerate(b.track_ids)}
    ia = np.array([index_a[int(t)] for t in corr.ids_a], dtype=np.int64)
    ib = np.array([index_b[int(t)] for t in corr.ids_b], dtype=np.int64)
    use_3d = a.has_3d and b.has_3d
    pa = (a.xyz if use_3d else a.uv)[:, ia].astype(np.float64)
    pb = (b.xyz if use_3d else b.uv)[:, ib].astype(np.float64)
    va = a.visible[:, ia] & finite_points(pa)
    vb = b.visible[:, ib] & finite_points(pb)
    snr = motion_to_noise_ratio(pa, va)
    order = np.argsort(-snr, kind="stable")
    order = order[snr[order] >= min_motion_snr][:max_matches]
    return MatchedTracks(
        ns_to_seconds(a.stamps_ns), ns_to_seconds(b.stamps_ns), pa[:, order], pb[:, order], va[:, order],
        vb[:, order], np.asarray(corr.weight, dtype=np.float64)[order], use_3d,
    )


class TrackSpline:
    """Cubic-spline interpolation of tracks [T, K, D] at arbitrary times, with validity.

    Invisible samples are bridged linearly before the spline is fitted, and an interpolated
    value counts as valid only when both frames around it were visible, so gaps never
    contribute invented positions.

    ``cutoff_nyquist`` (0 < c <= 1) fits a smoothing spline instead of interpolating: an
    interpolating spline reproduces the noise at the knots but averages it between them, so a
    misalignment cost built on it prefers offsets that put the other camera's samples between
    knots (a bias of up to half a frame with equal frame rates). The penalty puts the spline's
    half-power frequency at ``cutoff_nyquist`` times the Nyquist frequency: the transfer
    function of a smoothing spline on a grid of step h is 1 / (1 + lam * h * omega^4).
    """

    def __init__(
        self, times_s: np.ndarray, pos: np.ndarray, visible: np.ndarray, cutoff_nyquist: float | None = None
    ) -> None:
        if pos.shape[:2] != visible.shape or pos.shape[0] != len(times_s):
            raise ValueError(f"pos {pos.shape} / visible {visible.shape} / times {len(times_s)} disagree")
        self._times_s = times_s
        self._visible = visible
        filled = _bridge_gaps(times_s, pos, visible)
        if len(times_s) < 5:
            self._spline = None
        elif cutoff_nyquist is not None:
            step = float(np.median(np.diff(times_s)))
            omega = 2 * np.pi * cutoff_nyquist * 0.5 / step
            flat = make_smoothing_spline(times_s, filled.reshape(len(times_s), -1), lam=1.0 / (step * omega**4))
            self._spline = lambda t, nu=0: flat(t, nu).reshape((len(t),) + filled.shape[1:])
        else:
            self._spline = CubicSpline(times_s, filled, axis=0)

    def __call__(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions [T', K, D] and validity [T', K] at ``times_s`` [T']."""
        k = self._visible.shape[1]
        if self._spline is None:
            return np.full((len(times_s), k, 1), np.nan), np.zeros((len(times_s), k), bool)
        return self._spline(times_s), self.valid_at(times_s)

    def velocity(self, times_s: np.ndarray) -> np.ndarray:
        """Time derivative [T', K, D] of the spline at ``times_s``."""
        return self._spline(times_s, 1)

    def valid_at(self, times_s: np.ndarray) -> np.ndarray:
        """[T', K]: times inside the window whose bracketing frames are both visible."""
        inside = (times_s >= self._times_s[0]) & (times_s <= self._times_s[-1])
        hi = np.clip(np.searchsorted(self._times_s, times_s), 1, len(self._times_s) - 1)
        return inside[:, None] & self._visible[hi - 1] & self._visible[hi]


def _bridge_gaps(times_s: np.ndarray, pos: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Positions with invisible samples filled by linear interpolation in time (per track)."""
    out = np.array(pos, dtype=np.float64)
    for k in range(pos.shape[1]):
        seen = visible[:, k]
        if not seen.any():
            out[:, k] = 0.0
            continue
        for d in range(pos.shape[2]):
            out[~seen, k, d] = np.interp(times_s[~seen], times_s[seen], pos[seen, k, d])
    return out


def speed_profiles(times_s: np.ndarray, pos: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Speed [T, K] of every track by central differences, with validity [T, K].

    Speed (not velocity) because it is invariant to the rotation between camera world frames;
    correlation scores are also invariant to their scale.
    """
    dt = times_s[2:] - times_s[:-2]
    vel = (pos[2:] - pos[:-2]) / dt[:, None, None]
    speed = np.full(visible.shape, np.nan)
    speed[1:-1] = np.linalg.norm(vel, axis=-1)
    valid = np.zeros_like(visible)
    valid[1:-1] = visible[2:] & visible[:-2] & visible[1:-1]
    return np.where(valid, speed, np.nan), valid
