"""Online clock synchronization: TrackSets per window in, ClockOffsets per camera out."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.correspondences import Correspondences
from s4_core.offsets import ClockOffset, SyncState
from s4_core.sync.depth_history import DepthHistory
from s4_core.sync.image_history import ImageHistory
from s4_core.sync.clock_filter import ClockFilterConfig, ClockOffsetFilter, OffsetMeasurement
from s4_core.sync.window import WindowSyncConfig, estimate_window_offsets
from s4_core.tracks import TrackSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OnlineSyncConfig:
    """Hyperparameters of :class:`OnlineClockSync`.

    Attributes:
        reference_camera: the camera whose clock is the reference (offset 0).
        window: per-window estimation.
        filter: per-camera Kalman filter and lock logic.
        reestimate_period_s: reference-clock seconds between window estimates.
        settled_period_s: the longer period used while every camera is settled (LOCKED, its
            latest measurement agreeing with the lock); 0 keeps ``reestimate_period_s``. A
            settled rig has little to learn from each window, and an estimate costs about a
            core-second: a longer period leaves that to tracking. The first camera that misses
            or contradicts a measurement brings back the short period, so re-acquisition
            runs at full pace; a clock jump is first seen up to this long after it. The
            filter's overlap discount keeps ``reestimate_period_s``, which overstates how
            many estimates share a frame at the longer period: the stddev errs on the wide side.
        window_s: span of the track windows once they are full, seconds. A frame takes part in
            about ``window_s / reestimate_period_s`` successive estimates over its life, and the
            filter discounts each estimate by that count (a longer window seen counts instead).
            While the windows fill, their span would undercount it: the first, short windows
            would then outweigh the full ones, which reuse all their frames.
    """

    reference_camera: str
    window: WindowSyncConfig = field(default_factory=WindowSyncConfig)
    filter: ClockFilterConfig = field(default_factory=ClockFilterConfig)
    reestimate_period_s: float = 2.0
    settled_period_s: float = 0.0
    window_s: float = 8.0

    def __post_init__(self) -> None:
        if self.reestimate_period_s <= 0 or self.window_s < 0:
            raise ValueError(f"reestimate_period_s must be positive and window_s not negative: {self}")
        if self.settled_period_s < 0:
            raise ValueError(f"settled_period_s must not be negative (0 turns it off): {self}")


class OnlineClockSync:
    """Streaming offsets of every camera relative to the reference, with lock states.

    Call :meth:`update` with the latest window of every camera as the windows slide; a window
    estimate runs when :attr:`period_s` of reference time has passed since the last one.
    A camera whose newest stamp did not advance is treated as stopped (no evidence).
    """

    def __init__(self, config: OnlineSyncConfig, calibrations: Mapping[str, PinholeCamera] | None = None) -> None:
        self.config = config
        self.calibrations = dict(calibrations or {})
        self.reset()

    def reset(self) -> None:
        """Forget all estimates and schedules."""
        self._filters: dict[str, ClockOffsetFilter] = {}
        self._last_stamp_ns: dict[str, int] = {}
        self._last_estimate_s = float("-inf")
        self._last_correspondences: list[Correspondences] = []

    def update(
        self,
        windows: Mapping[str, TrackSet],
        depth_histories: Mapping[str, DepthHistory] | None = None,
        image_histories: Mapping[str, ImageHistory] | None = None,
    ) -> dict[str, ClockOffset]:
        """Feed the current window of each camera; returns every known camera's ClockOffset.

        Args:
            windows: camera -> its TrackSet over the current window.
            depth_histories: camera -> its recent depth images (calibrated RGB-D cameras).
            image_histories: camera -> its recent grey images (calibrated RGB-only cameras).
        """
        ref = self.config.reference_camera
        for name in windows:
            self._filters.setdefault(name, ClockOffsetFilter(name, self.config.filter))
        if ref not in windows or windows[ref].num_frames == 0:
            return self.offsets()
        now_s = float(windows[ref].stamps_ns[-1]) / 1e9
        if now_s - self._last_estimate_s >= self.period_s:
            self._estimate(windows, now_s, depth_histories, image_histories)
        return self.offsets()

    @property
    def period_s(self) -> float:
        """Reference seconds from one window estimate to the next: ``settled_period_s`` while
        every camera's filter is settled, else ``reestimate_period_s``."""
        others = [f for name, f in self._filters.items() if name != self.config.reference_camera]
        if self.config.settled_period_s > 0 and others and all(f.settled for f in others):
            return max(self.config.settled_period_s, self.config.reestimate_period_s)
        return self.config.reestimate_period_s

    def force_next_estimate(self) -> None:
        """Make the next :meth:`update` estimate whatever the schedule (end of a recording)."""
        self._last_estimate_s = float("-inf")

    def last_correspondences(self) -> list[Correspondences]:
        """The matches of every camera pair in the latest window estimate."""
        return list(self._last_correspondences)

    def offsets(self) -> dict[str, ClockOffset]:
        """Current ClockOffset of every camera seen so far (the reference is locked at 0)."""
        out = {name: f.offset() for name, f in self._filters.items()}
        ref = self.config.reference_camera
        if ref in out:
            out[ref] = ClockOffset(ref, 0.0, 0.0, 0.0, SyncState.LOCKED, "", 0.0)
        return out

    def _estimate(self, windows: Mapping[str, TrackSet], now_s: float, depth_histories, image_histories) -> None:
        self._last_estimate_s = now_s
        live, stopped = {}, {}
        for name, tracks in windows.items():
            last = int(tracks.stamps_ns[-1]) if tracks.num_frames else None
            if last is None or last == self._last_stamp_ns.get(name):
                stopped[name] = "no new frames"
            else:
                live[name] = tracks
                self._last_stamp_ns[name] = last
        hints = {c: f.offset().offset_s for c, f in self._filters.items() if f.state is SyncState.LOCKED and c in live}
        hints[self.config.reference_camera] = 0.0
        result = estimate_window_offsets(
            live, self.config.reference_camera, self.config.window, self.calibrations, hints, depth_histories,
            image_histories,
        )  # fmt: skip
        self._last_correspondences = result.correspondences
        overlap = _window_overlap(windows[self.config.reference_camera], self.config.window_s, self.config.reestimate_period_s)
        for name, f in self._filters.items():
            if name == self.config.reference_camera:
                continue
            if name in result.measurements:
                f.update(_decorrelated(result.measurements[name], overlap))
            else:
                why = stopped.get(name) or result.reasons.get(name, "camera has no window")
                f.no_evidence(now_s + (f.offset().offset_s if f.state is SyncState.LOCKED else 0.0), why)


def _window_overlap(reference: TrackSet, window_s: float, period_s: float) -> float:
    """How many successive estimates share each sample: the full window's span (or the span
    of ``reference``'s window, when longer) over the period."""
    span_s = float(reference.stamps_ns[-1] - reference.stamps_ns[0]) / 1e9 if reference.num_frames > 1 else 0.0
    return max(1.0, max(span_s, window_s) / period_s)


def _decorrelated(measurement: OffsetMeasurement, overlap: float) -> OffsetMeasurement:
    """The measurement with its variance scaled by the window overlap.

    Successive windows share most of their frames, so their errors are correlated; a filter
    that fuses them as independent would shrink its stddev by sqrt(overlap) too fast.
    """
    return replace(measurement, stddev_s=measurement.stddev_s * float(np.sqrt(overlap)))
