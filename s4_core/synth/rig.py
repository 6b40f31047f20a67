"""The camera rig: where the cameras are, how they see colour, and when they take frames.

Cameras stand on an arc around the scene looking inward, spaced at most 75 degrees apart so
neighbours share much of their view even with two cameras. Each has its own exposure gain
and white balance (so appearance differs between cameras), its own frame rate, and its own
clock: stamps are regular at ``1 / fps`` in the camera's clock, starting at a random phase, and
the capture (reference) time of a stamp follows :class:`s4_core.clock.ClockModel`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s4_core.camera import PinholeCamera, intrinsics_from_fov, look_at
from s4_core.clock import NS_PER_S, ClockModel, ns_to_seconds, seconds_to_ns
from s4_core.synth.config import TIME_BASE_S, RandomStream, SynthConfig, stream_rng

#: Largest angle between neighbouring cameras on the arc, radians.
MAX_CAMERA_SPACING_RAD = np.deg2rad(75.0)


@dataclass(frozen=True)
class CameraResponse:
    """Per-camera photometry: ``pixel = radiance * gain * white_balance``.

    Attributes:
        gain: exposure gain.
        white_balance: [3] per-channel gain (green is 1).
    """

    gain: float
    white_balance: np.ndarray


@dataclass(frozen=True)
class FrameTimes:
    """When one camera's recorded frames were captured and how they are stamped.

    Attributes:
        capture_s: [T] float64 reference (capture) times of the frames that were kept.
        stamp_ns: [T] int64 stamps in the camera's own clock.
        frame_index: [T] int64 position on the camera's regular stamp grid (gaps are drops).
        num_nominal: frames the camera would have recorded without drops.
    """

    capture_s: np.ndarray
    stamp_ns: np.ndarray
    frame_index: np.ndarray
    num_nominal: int

    @property
    def num_dropped(self) -> int:
        return self.num_nominal - len(self.stamp_ns)


def build_cameras(config: SynthConfig) -> list[PinholeCamera]:
    """Calibrated pinhole cameras on an arc around the scene, looking inward."""
    rng = stream_rng(config.seed, RandomStream.RIG, 0)
    width, height = config.size_wh
    K = intrinsics_from_fov(width, height, config.hfov_deg)
    spacing = min(2.0 * np.pi / config.num_cameras, MAX_CAMERA_SPACING_RAD)
    start = rng.uniform(0.0, 2.0 * np.pi)
    cameras = []
    for index, name in enumerate(config.camera_names):
        azimuth = start + index * spacing + rng.uniform(-0.08, 0.08)
        radius = rng.uniform(2.8, 3.4)
        eye = np.array([radius * np.cos(azimuth), radius * np.sin(azimuth), rng.uniform(1.0, 2.0)])
        target = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), rng.uniform(0.4, 0.7)])
        cameras.append(PinholeCamera(name, width, height, K.copy(), look_at(eye, target)))
    return cameras


def build_responses(config: SynthConfig) -> list[CameraResponse]:
    """Exposure and white balance of every camera (differences real rigs have)."""
    rng = stream_rng(config.seed, RandomStream.RIG, 1)
    return [
        CameraResponse(
            gain=float(rng.uniform(0.85, 1.15)),
            white_balance=np.array([rng.uniform(0.92, 1.08), 1.0, rng.uniform(0.92, 1.08)]),
        )
        for _ in range(config.num_cameras)
    ]


def build_clocks(config: SynthConfig) -> dict[str, ClockModel]:
    """Ground-truth clock of every camera; ``t0_s`` is the start of the recording."""
    return {
        name: ClockModel(offset_s=offset, drift_ppm=drift, t0_s=TIME_BASE_S)
        for name, offset, drift in zip(
            config.camera_names, config.resolved_offsets_s(), config.resolved_drift_ppm()
        )
    }


def frame_times(config: SynthConfig, camera_index: int, clock: ClockModel) -> FrameTimes:
    """Stamps regular in the camera's clock whose capture falls in the recording, minus drops."""
    fps = config.resolved_fps()[camera_index]
    phase_s = stream_rng(config.seed, RandomStream.CLOCKS, 2, camera_index).uniform(0.0, 1.0 / fps)
    first_stamp_ns = seconds_to_ns(clock.stamp_at(TIME_BASE_S) + phase_s)
    # a little more than enough grid points, whatever the drift; trimmed by capture time below
    grid = np.arange(int(np.ceil(config.duration_s * fps * 1.001)) + 2)
    stamp_ns = first_stamp_ns + np.round(grid * (NS_PER_S / fps)).astype(np.int64)
    capture_s = np.asarray(clock.capture_time(ns_to_seconds(stamp_ns)), dtype=np.float64)
    in_recording = (capture_s >= TIME_BASE_S) & (capture_s < TIME_BASE_S + config.duration_s)
    nominal = np.flatnonzero(in_recording)
    drop_rng = stream_rng(config.seed, RandomStream.DROPS, camera_index)
    kept = nominal[drop_rng.random(len(nominal)) >= config.drop_rate]
    first_index = nominal[0] if len(nominal) else 0
    return FrameTimes(capture_s[kept], stamp_ns[kept], kept - first_index, len(nominal))
