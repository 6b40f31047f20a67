"""The offset of one camera pair: matched tracks -> integer lag -> sub-frame offset."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.correspondences import Correspondences
from s4_core.sync.lag import LagSearchConfig, frame_lag_by_motion_overlap
from s4_core.sync.matched_motion import gather_matched_tracks
from s4_core.sync.refine import SubframeConfig, refine_offset_subframe
from s4_core.tracks import TrackSet


@dataclass(frozen=True)
class PairSyncConfig:
    """Hyperparameters of :func:`estimate_pair_offset`.

    Attributes:
        lag: integer-lag search.
        subframe: sub-frame refinement.
        max_matches: heaviest matches used (speed bound).
        min_matches: fewer matches than this: no estimate.
        max_stddev_frames: an estimate less certain than this (in grid steps) is not trusted.
    """

    lag: LagSearchConfig = field(default_factory=LagSearchConfig)
    subframe: SubframeConfig = field(default_factory=SubframeConfig)
    max_matches: int = 100
    min_matches: int = 8
    max_stddev_frames: float = 0.5


@dataclass(frozen=True)
class PairOffset:
    """Measured offset of a camera pair: B's stamp minus A's stamp of the same instant.

    Attributes:
        cam_a: camera A.
        cam_b: camera B.
        offset_s: the offset, seconds (meaningful only when ``ok``).
        stddev_s: its standard deviation, seconds.
        t_a_s: A's stamp at which the offset holds (centroid of the samples used), seconds.
        frame_period_s: the finer frame period of the pair, seconds.
        num_matches: matched tracks available.
        ok: the estimate is supported by the data.
        reason: why not, when not ok.
    """

    cam_a: str
    cam_b: str
    offset_s: float
    stddev_s: float
    t_a_s: float
    frame_period_s: float
    num_matches: int
    ok: bool
    reason: str = ""


def estimate_pair_offset(
    a: TrackSet,
    b: TrackSet,
    corr: Correspondences,
    config: PairSyncConfig = PairSyncConfig(),
    cameras: tuple[PinholeCamera, PinholeCamera] | None = None,
) -> PairOffset:
    """Offset of B relative to A from their matched tracks.

    Args:
        a: camera A's tracks over its window.
        b: camera B's tracks over its window.
        corr: matches from A to B.
        config: hyperparameters.
        cameras: calibrations (A, B), for the RGB-only epipolar terms.
    """
    t_a_s = float(np.mean(a.stamps_ns[[0, -1]])) / 1e9 if a.num_frames else float("nan")

    def fail(reason: str, period: float = float("nan")) -> PairOffset:
        return PairOffset(a.camera, b.camera, float("nan"), float("inf"), t_a_s, period, len(corr), False, reason)

    if len(corr) < config.min_matches:
        return fail(f"{len(corr)} matched tracks < {config.min_matches}")
    if min(a.num_frames, b.num_frames) < 8:
        return fail("window too short")
    tracks = gather_matched_tracks(a, b, corr, config.max_matches)
    lag = frame_lag_by_motion_overlap(tracks, config.lag, cameras)
    if not lag.ok:
        return fail(lag.reason, lag.step_s)
    shared = a.has_3d and b.has_3d and bool(a.world_frame) and a.world_frame == b.world_frame
    sub = refine_offset_subframe(tracks, lag.offset_s, config.subframe, cameras, shared)
    if not np.isfinite(sub.stddev_s) or sub.stddev_s > config.max_stddev_frames * lag.step_s:
        return fail(f"sub-frame offset too uncertain ({sub.stddev_s * 1e3:.2f} ms)", lag.step_s)
    return PairOffset(a.camera, b.camera, sub.offset_s, sub.stddev_s, sub.t_a_s, lag.step_s, len(corr), True)
