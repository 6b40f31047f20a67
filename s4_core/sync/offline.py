"""Offline clock synchronization of a whole recording: windows, then a line per camera."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.clock import seconds_to_ns
from s4_core.offsets import ClockOffset, SyncState
from s4_core.sync.clock_filter import OffsetMeasurement
from s4_core.sync.window import WindowSyncConfig, estimate_window_offsets
from s4_core.tracks import TrackSet


@dataclass(frozen=True)
class OfflineSyncConfig:
    """Hyperparameters of :func:`estimate_offsets_offline`.

    Attributes:
        window: per-window estimation.
        window_s: window length, seconds of each camera's clock.
        hop_s: window start spacing, seconds.
        gate_sigma: window measurements beyond this many sigmas of the fitted line are dropped.
    """

    window: WindowSyncConfig = field(default_factory=WindowSyncConfig)
    window_s: float = 10.0
    hop_s: float = 5.0
    gate_sigma: float = 5.0


def estimate_offsets_offline(
    recording: Mapping[str, TrackSet],
    reference: str,
    config: OfflineSyncConfig = OfflineSyncConfig(),
    calibrations: Mapping[str, PinholeCamera] | None = None,
) -> dict[str, ClockOffset]:
    """Offset and drift of every camera over a whole recording.

    Each camera's tracks are cut into windows of its own clock (as a live node would), each
    window is estimated like online, and a weighted line offset(t) = offset + drift * (t - t0)
    is fitted per camera to the window measurements, dropping outliers.

    Args:
        recording: camera -> its tracks over the recording.
        reference: reference camera.
        config: hyperparameters.
        calibrations: camera -> PinholeCamera, for RGB-only epipolar terms.
    """
    starts = [float(ts.stamps_ns[0]) / 1e9 for ts in recording.values() if ts.num_frames]
    ends = [float(ts.stamps_ns[-1]) / 1e9 for ts in recording.values() if ts.num_frames]
    measured: dict[str, list[OffsetMeasurement]] = {c: [] for c in recording}
    reasons: dict[str, str] = {c: "no window estimate" for c in recording}
    t = min(starts) if starts else 0.0
    while True:
        windows = {c: slice_by_stamps(ts, t, t + config.window_s) for c, ts in recording.items()}
        windows = {c: w for c, w in windows.items() if w.num_frames >= 8}
        result = estimate_window_offsets(windows, reference, config.window, calibrations)
        for c, m in result.measurements.items():
            measured[c].append(m)
        reasons.update(result.reasons)
        if not ends or t + config.window_s >= max(ends):
            break
        t += config.hop_s
    out = {c: _line_fit(c, ms, config.gate_sigma, reasons.get(c, "")) for c, ms in measured.items() if c != reference}
    out[reference] = ClockOffset(reference, 0.0, 0.0, 0.0, SyncState.LOCKED, "", 0.0)
    return out


def slice_by_stamps(tracks: TrackSet, lo_s: float, hi_s: float) -> TrackSet:
    """The frames of ``tracks`` with stamps in [lo_s, hi_s), keeping tracks seen there."""
    keep_t = (tracks.stamps_ns >= seconds_to_ns(lo_s)) & (tracks.stamps_ns < seconds_to_ns(hi_s))
    keep_n = tracks.visible[keep_t].any(axis=0)
    return TrackSet(
        camera=tracks.camera,
        track_ids=tracks.track_ids[keep_n],
        stamps_ns=tracks.stamps_ns[keep_t],
        uv=tracks.uv[keep_t][:, keep_n],
        visible=tracks.visible[keep_t][:, keep_n],
        xyz=None if tracks.xyz is None else tracks.xyz[keep_t][:, keep_n],
        descriptors=tracks.descriptors[keep_n],
        confidence=tracks.confidence[keep_t][:, keep_n],
        world_frame=tracks.world_frame,
    )


def _line_fit(camera: str, ms: list[OffsetMeasurement], gate_sigma: float, reason: str) -> ClockOffset:
    """Weighted offset + drift line through the window measurements, with outlier rejection."""
    if not ms:
        return ClockOffset(camera, float("nan"), float("inf"), 0.0, SyncState.INITIALIZING, reason or "no evidence", 0.0)
    t = np.array([m.t_s for m in ms])
    z = np.array([m.offset_s for m in ms])
    s = np.array([m.stddev_s for m in ms])
    t0 = float(np.average(t, weights=1 / s**2))
    keep = np.ones(len(ms), bool)
    for _ in range(3):
        A = np.stack([np.ones(len(t)), t - t0], axis=1) if np.ptp(t[keep]) > 0 else np.ones((len(t), 1))
        Aw = A[keep] / s[keep, None]
        cov = np.linalg.inv(Aw.T @ Aw)
        x = cov @ Aw.T @ (z[keep] / s[keep])
        new_keep = np.abs(A @ x - z) <= gate_sigma * s
        if new_keep.sum() == 0 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
    drift_ppm = float(x[1] * 1e6) if len(x) > 1 else 0.0
    return ClockOffset(camera, float(x[0]), float(np.sqrt(cov[0, 0])), drift_ppm, SyncState.LOCKED, "", t0)
