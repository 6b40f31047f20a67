"""Cross-camera track matching with Fused Gromov-Wasserstein.

Each camera tracks in its own world frame (own rigid pose, possibly own scale) and its own
unsynchronized clock, so matching compares *time-shift-invariant structure within* each camera's
tracks (Gromov-Wasserstein) plus appearance (the feature term), and, when both cameras share a
calibrated world frame or calibration, a cross term on actual positions.
"""

from s4_core.matching.fgw import FgwMatchConfig, confident_mutual_matches, match_tracks_fgw
from s4_core.matching.track_geometry import (
    common_stamp_masks,
    farthest_point_subsample,
    normalized_distance_matrix,
    track_mean_positions,
)

__all__ = [
    "FgwMatchConfig",
    "common_stamp_masks",
    "confident_mutual_matches",
    "farthest_point_subsample",
    "match_tracks_fgw",
    "normalized_distance_matrix",
    "track_mean_positions",
]
