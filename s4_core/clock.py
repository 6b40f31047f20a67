"""The one clock convention used everywhere in s4.

A frame stamped ``t`` (seconds, in camera c's own clock) was captured at reference time
``t - offset_s(c, t)`` with ``offset_s(c, t) = offset_s(c) + drift_ppm(c) * 1e-6 * (t - t0_s)``.
The reference camera has offset 0 and no drift. Keeping the conversion in one place means the
synthetic world, the estimators and the bag tool cannot disagree about the sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class ClockModel:
    """Affine map between a camera's stamps and reference (capture) time.

    Attributes:
        offset_s: offset at ``t0_s`` (stamp minus capture time), seconds.
        drift_ppm: growth of the offset, parts per million of elapsed stamp time.
        t0_s: stamp time at which ``offset_s`` holds, seconds.
    """

    offset_s: float = 0.0
    drift_ppm: float = 0.0
    t0_s: float = 0.0

    def offset_at(self, stamp_s: np.ndarray | float) -> np.ndarray | float:
        """Offset (seconds) in force at the given stamp(s)."""
        return self.offset_s + self.drift_ppm * 1e-6 * (np.asarray(stamp_s) - self.t0_s)

    def capture_time(self, stamp_s: np.ndarray | float) -> np.ndarray | float:
        """Reference time at which a frame with this stamp was captured."""
        return np.asarray(stamp_s) - self.offset_at(stamp_s)

    def stamp_at(self, capture_s: np.ndarray | float) -> np.ndarray | float:
        """Inverse of :meth:`capture_time`: the stamp a camera writes for a capture time."""
        rate = self.drift_ppm * 1e-6
        return (np.asarray(capture_s) + self.offset_s - rate * self.t0_s) / (1.0 - rate)


def seconds_to_ns(t_s: np.ndarray | float) -> np.ndarray | int:
    """Seconds to integer nanoseconds, rounded (not truncated) to avoid 1 ns drifts."""
    out = np.round(np.asarray(t_s, dtype=np.float64) * NS_PER_S).astype(np.int64)
    return int(out) if out.ndim == 0 else out


def ns_to_seconds(t_ns: np.ndarray | int) -> np.ndarray | float:
    """Integer nanoseconds to float seconds."""
    out = np.asarray(t_ns, dtype=np.int64) / NS_PER_S
    return float(out) if np.ndim(out) == 0 else out
