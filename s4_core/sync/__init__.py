"""Clock offset estimation (SyncTrack4D-style) from matched tracks.

Pipeline per window: matched tracks of each camera pair -> integer lag maximizing the overlap
of their motion (:mod:`.lag`) -> sub-frame offset with an honest stddev on spline-interpolated
tracks (:mod:`.refine`) -> robust least squares over the camera-pair graph (:mod:`.graph`) ->
per-camera Kalman filter with lock states (:mod:`.clock_filter`, :mod:`.online`).

Calibrated pairs are timed without track matches, from the consistency of their motion under
the known geometry: RGB-D pairs by their moving surfaces (:mod:`.depth_consistency`), RGB-only
pairs by the motion each epipolar plane crosses (:mod:`.epipolar_consistency`); both share
the offset search of :mod:`.offset_search`.
"""

from s4_core.sync.clock_filter import ClockFilterConfig, ClockOffsetFilter, OffsetMeasurement
from s4_core.sync.graph import GraphOffset, GraphSolveConfig, solve_offsets_on_pair_graph
from s4_core.sync.lag import LagEstimate, LagSearchConfig, frame_lag_by_motion_overlap
from s4_core.sync.matched_motion import MatchedTracks, TrackSpline, gather_matched_tracks
from s4_core.sync.offline import OfflineSyncConfig, estimate_offsets_offline, slice_by_stamps
from s4_core.sync.online import OnlineClockSync, OnlineSyncConfig
from s4_core.sync.pair import PairOffset, PairSyncConfig, estimate_pair_offset
from s4_core.sync.refine import SubframeConfig, SubframeOffset, refine_offset_subframe
from s4_core.sync.window import WindowOffsets, WindowSyncConfig, estimate_window_offsets

__all__ = [
    "ClockFilterConfig", "ClockOffsetFilter", "GraphOffset", "GraphSolveConfig", "LagEstimate",
    "LagSearchConfig", "MatchedTracks", "OfflineSyncConfig", "OffsetMeasurement", "OnlineClockSync",
    "OnlineSyncConfig", "PairOffset", "PairSyncConfig", "SubframeConfig", "SubframeOffset", "TrackSpline",
    "WindowOffsets", "WindowSyncConfig", "estimate_offsets_offline", "estimate_pair_offset",
    "estimate_window_offsets", "frame_lag_by_motion_overlap", "gather_matched_tracks",
    "refine_offset_subframe", "slice_by_stamps", "solve_offsets_on_pair_graph",
]
