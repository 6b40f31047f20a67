"""Offsets of all cameras over one window: match every pair, time every pair, solve the graph.

Shared by :class:`~s4_core.sync.online.OnlineClockSync` and the offline function, so the ROS
nodes, the bag tool and the benchmark run one code path.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.correspondences import Correspondences
from s4_core.sync.depth_consistency import DepthConsistencyConfig, DepthTimingCache, offset_by_mutual_depth_consistency
from s4_core.sync.depth_history import DepthHistory
from s4_core.sync.epipolar_consistency import EpipolarConsistencyConfig, offset_by_mutual_epipolar_consistency
from s4_core.sync.image_history import ImageHistory
from s4_core.matching.fgw import FgwMatchConfig, match_tracks_fgw
from s4_core.sync.clock_filter import OffsetMeasurement
from s4_core.sync.graph import GraphSolveConfig, solve_offsets_on_pair_graph
from s4_core.sync.pair import PairOffset, PairSyncConfig, estimate_pair_offset
from s4_core.threads import shared_pool
from s4_core.tracks import TrackSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowSyncConfig:
    """Hyperparameters of :func:`estimate_window_offsets`.

    Attributes:
        match: FGW matching.
        pair: pair offset estimation.
        graph: global solve.
        rematch_with_offset: after a first pair offset, match again with the time means taken
            over the same capture interval (unbiased for moving points) and re-time the pair.
        depth: timing of calibrated depth cameras from their moving geometry, used for every
            pair whose cameras both have a depth history and tracks in one world frame.
        epipolar: timing of calibrated RGB-only cameras from the motion each epipolar plane
            crosses, used for every other pair whose cameras are both calibrated and both have
            an image history.
        parallel: time the pairs concurrently on s4's shared thread pool (the pairs are
            independent, and the results do not depend on it); False times them one by one
            in the calling thread, which leaves the other cores to a live node's tracking.
    """

    match: FgwMatchConfig = field(default_factory=FgwMatchConfig)
    depth: DepthConsistencyConfig = field(default_factory=DepthConsistencyConfig)
    epipolar: EpipolarConsistencyConfig = field(default_factory=EpipolarConsistencyConfig)
    pair: PairSyncConfig = field(default_factory=PairSyncConfig)
    graph: GraphSolveConfig = field(default_factory=GraphSolveConfig)
    rematch_with_offset: bool = True
    parallel: bool = True


@dataclass(frozen=True)
class WindowOffsets:
    """One window's result.

    Attributes:
        measurements: camera -> offset measurement (at that camera's stamp time), resolved ones.
        reasons: camera -> why it has no measurement.
        pairs: the pair offsets that went into the graph.
        correspondences: the matches each pair offset was timed on (one per pair, same order).
    """

    measurements: dict[str, OffsetMeasurement]
    reasons: dict[str, str]
    pairs: list[PairOffset]
    correspondences: list[Correspondences] = field(default_factory=list)


def estimate_window_offsets(
    windows: Mapping[str, TrackSet],
    reference: str,
    config: WindowSyncConfig = WindowSyncConfig(),
    calibrations: Mapping[str, PinholeCamera] | None = None,
    offset_hints_s: Mapping[str, float] | None = None,
    depth_histories: Mapping[str, DepthHistory] | None = None,
    image_histories: Mapping[str, ImageHistory] | None = None,
) -> WindowOffsets:
    """Per-camera offsets (relative to ``reference``) from one window of every camera's tracks.

    Args:
        windows: camera -> its TrackSet over the current window (its own clock).
        reference: reference camera (offset 0).
        config: hyperparameters.
        calibrations: camera -> PinholeCamera, for RGB-only epipolar terms.
        offset_hints_s: camera -> current offset estimate, to match over common intervals.
        depth_histories: camera -> its recent depth images, for calibrated RGB-D pairs.
        image_histories: camera -> its recent grey images, for calibrated RGB-only pairs.
    """
    names = sorted(windows)
    if reference not in windows:
        return WindowOffsets({}, {c: f"reference camera {reference} has no window" for c in names}, [])
    with DepthTimingCache() as cache:

        def time_pair(pair: tuple[str, str]) -> tuple[PairOffset, Correspondences]:
            a, b = pair
            return _pair_offset(windows[a], windows[b], config, calibrations, offset_hints_s, depth_histories, image_histories, cache)

        run = shared_pool().map if config.parallel else map
        timed = list(run(time_pair, itertools.combinations(names, 2)))
    pairs = [pair for pair, _ in timed]
    for p in pairs:
        log.debug("pair %s-%s: %s", p.cam_a, p.cam_b, f"{p.offset_s:.6f} s" if p.ok else p.reason)
    solved = solve_offsets_on_pair_graph(names, reference, pairs, config.graph)
    t_ref_s = _reference_time(pairs, solved, windows[reference])
    measurements = {
        c: OffsetMeasurement(t_ref_s + g.offset_s, g.offset_s, g.stddev_s) for c, g in solved.items() if g.resolved
    }
    reasons = {c: g.reason for c, g in solved.items() if not g.resolved}
    return WindowOffsets(measurements, reasons, pairs, [corr for _, corr in timed])


def _pair_offset(
    a, b, config: WindowSyncConfig, calibrations, hints, depth_histories, image_histories, cache: DepthTimingCache
) -> tuple[PairOffset, Correspondences]:
    """The pair's offset and the matches found with it.

    Calibrated RGB-D pairs are timed from their moving geometry, calibrated RGB-only pairs from
    the motion their epipolar planes cross; both are then matched with that offset. Uncalibrated pairs
    are matched first and timed on their matched tracks.
    """
    cams = (calibrations[a.camera], calibrations[b.camera]) if calibrations and a.camera in calibrations and b.camera in calibrations else None
    hint = hints[b.camera] - hints[a.camera] if hints and a.camera in hints and b.camera in hints else None
    if _shares_depth_world(a, b, depth_histories):
        pair = offset_by_mutual_depth_consistency(
            a, depth_histories[a.camera], b, depth_histories[b.camera], config.depth, hint, cache
        )
        return pair, match_tracks_fgw(a, b, config.match, pair.offset_s if pair.ok else hint, cams)
    if cams is not None and image_histories and a.camera in image_histories and b.camera in image_histories:
        pair = offset_by_mutual_epipolar_consistency(
            image_histories[a.camera], image_histories[b.camera], config.epipolar, hint
        )
        return pair, match_tracks_fgw(a, b, config.match, pair.offset_s if pair.ok else hint, cams)
    corr = match_tracks_fgw(a, b, config.match, hint, cams)
    pair = estimate_pair_offset(a, b, corr, config.pair, cams)
    if pair.ok and hint is None and config.rematch_with_offset:
        corr_again = match_tracks_fgw(a, b, config.match, pair.offset_s, cams)
        again = estimate_pair_offset(a, b, corr_again, config.pair, cams)
        if again.ok:
            pair, corr = again, corr_again
    return pair, corr


def _shares_depth_world(a: TrackSet, b: TrackSet, depth_histories) -> bool:
    return (
        depth_histories is not None
        and a.camera in depth_histories
        and b.camera in depth_histories
        and a.has_3d
        and b.has_3d
        and bool(a.world_frame)
        and a.world_frame == b.world_frame
    )


def _reference_time(pairs: list[PairOffset], solved, reference_tracks: TrackSet) -> float:
    """Reference-clock stamp at which the window's offsets hold: the mean pair sample centroid."""
    times = [p.t_a_s - solved[p.cam_a].offset_s for p in pairs if p.ok and solved[p.cam_a].resolved]
    if times:
        return float(np.mean(times))
    return float(np.mean(reference_tracks.stamps_ns[[0, -1]])) / 1e9
