"""Configuration of the synthetic multi-camera world.

Everything that varies between worlds is in :class:`SynthConfig`, and every random choice is
drawn from its ``seed`` through named streams (:func:`stream_rng`), so the same config always
yields the same scene, rig, clocks, drops and noise, and adding a camera does not change the
scene the other cameras see.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

#: Absolute time base (seconds since the epoch) of every synthetic recording: stamps stay
#: positive whatever the offsets, and float64 still resolves ~0.24 us at this magnitude.
TIME_BASE_S = 1.7e9

#: Largest magnitude of a default (random) clock offset, seconds.
MAX_DEFAULT_OFFSET_S = 3.0

#: Largest magnitude of a default (random) clock drift, parts per million.
MAX_DEFAULT_DRIFT_PPM = 50.0

#: Default frame rates, cycled over the cameras.
DEFAULT_FPS_CYCLE = (30.0, 25.0)


class RandomStream(enum.IntEnum):
    """Independent random streams derived from one seed."""

    SCENE = 1
    RIG = 2
    CLOCKS = 3
    DROPS = 4
    NOISE = 5
    LATENCY = 6


def stream_rng(seed: int, stream: RandomStream, *index: int) -> np.random.Generator:
    """A generator for one named stream (and optional sub-index, e.g. camera and frame)."""
    return np.random.default_rng((seed, int(stream), *index))


@dataclass(frozen=True)
class SynthConfig:
    """What a synthetic recording looks like.

    Attributes:
        num_cameras: number of cameras; ``cam0`` is the reference clock.
        duration_s: length of the recording in reference time, seconds.
        seed: seed of every random choice (scene, rig, clocks, drops, noise).
        size_wh: image width and height, pixels.
        fps: frame rate per camera; None alternates 30, 25, 30, 25, ...
        offsets_s: clock offset per camera (stamp minus capture time at the start, see
            :mod:`s4_core.clock`); camera 0 must be 0. None draws whole frames plus a fraction,
            up to +-3 s, from the seed.
        drift_ppm: clock drift per camera; camera 0 must be 0. None draws from [-50, 50] ppm.
        drop_rate: probability that a frame is lost, in [0, 1).
        noise_std: standard deviation of additive Gaussian image noise, in 8-bit levels.
        with_depth: whether frames (and bags) carry metric z-depth.
        transport_latency_s: delay from capture to a recorder's log time, seconds.
        latency_jitter_s: extra uniform random delay on top of ``transport_latency_s``.
        hfov_deg: horizontal field of view of every camera, degrees.
    """

    num_cameras: int = 4
    duration_s: float = 10.0
    seed: int = 0
    size_wh: tuple[int, int] = (320, 240)
    fps: tuple[float, ...] | None = None
    offsets_s: tuple[float, ...] | None = None
    drift_ppm: tuple[float, ...] | None = None
    drop_rate: float = 0.0
    noise_std: float = 2.0
    with_depth: bool = True
    transport_latency_s: float = 0.004
    latency_jitter_s: float = 0.002
    hfov_deg: float = 60.0

    def __post_init__(self) -> None:
        if self.num_cameras < 1:
            raise ValueError(f"need at least one camera, got {self.num_cameras}")
        if not self.duration_s > 0:
            raise ValueError(f"duration must be positive, got {self.duration_s} s")
        width, height = self.size_wh
        if width < 8 or height < 8:
            raise ValueError(f"image size must be at least 8x8, got {width}x{height}")
        if not 0.0 <= self.drop_rate < 1.0:
            raise ValueError(f"drop rate must be in [0, 1), got {self.drop_rate}")
        if self.noise_std < 0:
            raise ValueError(f"noise std must be non-negative, got {self.noise_std}")
        if self.transport_latency_s < 0 or self.latency_jitter_s < 0:
            raise ValueError("transport latency and its jitter must be non-negative")
        if not 1.0 <= self.hfov_deg <= 170.0:
            raise ValueError(f"horizontal field of view must be in [1, 170] deg, got {self.hfov_deg}")
        self._check_per_camera("fps", self.fps)
        self._check_per_camera("offsets_s", self.offsets_s)
        self._check_per_camera("drift_ppm", self.drift_ppm)
        if self.fps is not None and any(not f > 0 for f in self.fps):
            raise ValueError(f"every frame rate must be positive, got {self.fps}")
        for name, values in (("offsets_s", self.offsets_s), ("drift_ppm", self.drift_ppm)):
            if values is not None and values[0] != 0.0:
                raise ValueError(f"{name}[0] must be 0: camera 0 is the reference clock, got {values[0]}")
        if self.drift_ppm is not None and any(abs(d) >= 1e5 for d in self.drift_ppm):
            raise ValueError(f"drift must be below 1e5 ppm in magnitude, got {self.drift_ppm}")

    def _check_per_camera(self, name: str, values: tuple[float, ...] | None) -> None:
        if values is not None and len(values) != self.num_cameras:
            raise ValueError(f"{name} has {len(values)} values for {self.num_cameras} cameras")

    @property
    def camera_names(self) -> tuple[str, ...]:
        """Camera names, ``cam0`` first (the reference clock)."""
        return tuple(f"cam{i}" for i in range(self.num_cameras))

    def resolved_fps(self) -> tuple[float, ...]:
        """Frame rate of every camera, defaults filled in."""
        if self.fps is not None:
            return tuple(float(f) for f in self.fps)
        return tuple(DEFAULT_FPS_CYCLE[i % len(DEFAULT_FPS_CYCLE)] for i in range(self.num_cameras))

    def resolved_offsets_s(self) -> tuple[float, ...]:
        """Clock offset of every camera; random defaults are whole frames plus a fraction."""
        if self.offsets_s is not None:
            return tuple(float(o) for o in self.offsets_s)
        rng = stream_rng(self.seed, RandomStream.CLOCKS, 0)
        offsets = [0.0]
        for fps in self.resolved_fps()[1:]:
            max_frames = int(np.floor(MAX_DEFAULT_OFFSET_S * fps)) - 1
            whole = int(rng.integers(-max_frames, max_frames + 1))
            offsets.append((whole + float(rng.uniform(0.0, 1.0))) / fps)
        return tuple(offsets)

    def resolved_drift_ppm(self) -> tuple[float, ...]:
        """Clock drift of every camera, random defaults in [-50, 50] ppm."""
        if self.drift_ppm is not None:
            return tuple(float(d) for d in self.drift_ppm)
        rng = stream_rng(self.seed, RandomStream.CLOCKS, 1)
        drifts = rng.uniform(-MAX_DEFAULT_DRIFT_PPM, MAX_DEFAULT_DRIFT_PPM, self.num_cameras)
        return (0.0, *(float(d) for d in drifts[1:]))
