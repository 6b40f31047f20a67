"""Per-camera online clock filter: Kalman on [offset, drift] with a lock state machine.

State x = [offset_s, drift (s/s)] at stamp time t, offset(t') = offset + drift * (t' - t).
- INITIALIZING: measurements are buffered; ``min_consistent`` mutually consistent ones (within
  ``gate_sigma`` of each other) seed the filter and lock it. Nothing is trusted before.
- LOCKED: each measurement is gated on its innovation (normalized by the innovation stddev);
  ``max_rejections`` consecutive rejections mean the clock jumped: LOST, and the rejected
  measurements seed the re-acquisition. No evidence for ``evidence_timeout_s`` also means LOST.
- LOST: re-acquires like INITIALIZING, to the new value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s4_core.offsets import ClockOffset, SyncState


@dataclass(frozen=True)
class ClockFilterConfig:
    """Hyperparameters of :class:`ClockOffsetFilter`.

    Attributes:
        offset_walk_s: random-walk stddev of the offset per sqrt(second) of stamp time.
        drift_walk_ppm: random-walk stddev of the drift per sqrt(second), ppm.
        initial_drift_stddev_ppm: prior stddev of the drift when locking.
        gate_sigma: innovation gate, in innovation stddevs.
        min_consistent: consistent measurements needed to lock.
        max_rejections: consecutive gated-out measurements that declare a clock jump.
        evidence_timeout_s: stamp time without a measurement after which a lock is lost.
    """

    offset_walk_s: float = 1e-5
    drift_walk_ppm: float = 0.5
    initial_drift_stddev_ppm: float = 100.0
    gate_sigma: float = 5.0
    min_consistent: int = 2
    max_rejections: int = 2
    evidence_timeout_s: float = 10.0


@dataclass(frozen=True)
class OffsetMeasurement:
    """One window's offset of a camera: ``offset_s +- stddev_s`` at camera stamp ``t_s``."""

    t_s: float
    offset_s: float
    stddev_s: float


class ClockOffsetFilter:
    """Online offset + drift estimate of one camera with an explicit lock state."""

    def __init__(self, camera: str, config: ClockFilterConfig = ClockFilterConfig()) -> None:
        self.camera = camera
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget everything: back to INITIALIZING."""
        self._state = SyncState.INITIALIZING
        self._reason = "waiting for evidence"
        self._x = np.zeros(2)
        self._P = np.eye(2)
        self._t_s = float("nan")
        self._candidates: list[OffsetMeasurement] = []
        self._rejections = 0
        self._settled = False

    @property
    def state(self) -> SyncState:
        return self._state

    def update(self, z: OffsetMeasurement) -> SyncState:
        """Fuse one measurement; returns the new state."""
        if self._state is SyncState.LOCKED:
            self._update_locked(z)
        else:
            self._acquire(z)
        return self._state

    def no_evidence(self, t_s: float, why: str) -> SyncState:
        """Record a window without a measurement (``why``); loses a stale lock."""
        self._settled = False
        if self._state is SyncState.LOCKED:
            if t_s - self._t_s > self.config.evidence_timeout_s:
                self._state = SyncState.LOST
                self._reason = f"no evidence for {t_s - self._t_s:.1f} s: {why}"
                self._candidates = []
        else:
            self._reason = why
        return self._state

    @property
    def settled(self) -> bool:
        """LOCKED, and the latest window's measurement agreed with the lock (none missing or
        gated out): nothing for a prompt re-estimate to catch."""
        return self._state is SyncState.LOCKED and self._settled

    def offset(self, t_s: float | None = None) -> ClockOffset:
        """The estimate as a ClockOffset at stamp ``t_s`` (default: last update)."""
        if self._state is not SyncState.LOCKED:
            return ClockOffset(self.camera, float("nan"), float("inf"), 0.0, self._state, self._reason, 0.0)
        t = self._t_s if t_s is None else t_s
        x, P = self._predicted(t)
        return ClockOffset(self.camera, float(x[0]), float(np.sqrt(P[0, 0])), float(x[1] * 1e6), SyncState.LOCKED, "", t)

    def _predicted(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        dt = t_s - self._t_s
        Fm = np.array([[1.0, dt], [0.0, 1.0]])
        q = abs(dt) * np.diag([self.config.offset_walk_s**2, (self.config.drift_walk_ppm * 1e-6) ** 2])
        return Fm @ self._x, Fm @ self._P @ Fm.T + q

    def _update_locked(self, z: OffsetMeasurement) -> None:
        x, P = self._predicted(z.t_s)
        innovation = z.offset_s - x[0]
        S = P[0, 0] + z.stddev_s**2
        if innovation**2 <= self.config.gate_sigma**2 * S:
            K = P[:, 0] / S
            self._x, self._P, self._t_s = x + K * innovation, P - np.outer(K, P[0, :]), z.t_s
            self._rejections = 0
            self._settled = True
            self._candidates = []
            return
        self._rejections += 1
        self._settled = False
        self._candidates.append(z)
        if self._rejections >= self.config.max_rejections:
            self._state = SyncState.LOST
            self._reason = f"measurements disagree with the lock by {innovation * 1e3:.1f} ms (clock jump?)"
            self._candidates = self._candidates[-self.config.max_rejections:]
            self._rejections = 0  # re-acquisition starts from these on the next measurement

    def _acquire(self, z: OffsetMeasurement) -> None:
        self._candidates.append(z)
        self._try_lock()

    def _try_lock(self) -> None:
        """Lock on the latest ``min_consistent`` candidates when they agree with each other."""
        n = self.config.min_consistent
        recent = self._candidates[-n:]
        if len(recent) < n:
            self._reason = self._reason if self._state is SyncState.LOST else f"{len(recent)}/{n} consistent windows"
            return
        if not _mutually_consistent(recent, self.config):
            self._candidates = self._candidates[-(n - 1):] if n > 1 else []
            self._reason = "window estimates disagree with each other"
            return
        self._x, self._P, self._t_s = _least_squares_seed(recent, self.config)
        self._state, self._reason, self._candidates, self._rejections = SyncState.LOCKED, "", [], 0


def _mutually_consistent(ms: list[OffsetMeasurement], config: ClockFilterConfig) -> bool:
    """Pairwise agreement within the gate, allowing the drift prior over their time spread."""
    for i, a in enumerate(ms):
        for b in ms[i + 1:]:
            drift_var = (config.initial_drift_stddev_ppm * 1e-6 * (b.t_s - a.t_s)) ** 2
            if (a.offset_s - b.offset_s) ** 2 > config.gate_sigma**2 * (a.stddev_s**2 + b.stddev_s**2 + drift_var):
                return False
    return True


def _least_squares_seed(ms: list[OffsetMeasurement], config: ClockFilterConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """[offset, drift] at the last measurement's time from the buffered ones plus the drift prior."""
    t_last = ms[-1].t_s
    rows = [[1.0, m.t_s - t_last] for m in ms] + [[0.0, 1.0]]
    vals = [m.offset_s for m in ms] + [0.0]
    sig = [m.stddev_s for m in ms] + [config.initial_drift_stddev_ppm * 1e-6]
    A = np.array(rows) / np.array(sig)[:, None]
    b = np.array(vals) / np.array(sig)
    P = np.linalg.inv(A.T @ A)
    return P @ A.T @ b, P, t_last
