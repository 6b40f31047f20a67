"""Time-shift-invariant geometry of one camera's tracks.

The matcher never pairs frame t of camera A with frame t of camera B: their stamps are in
different clocks. What it compares instead are per-track *time means* over a stamp range, which
do not depend on the offset as long as both ranges cover the same capture interval (exactly when
an offset hint is given, approximately otherwise).
"""

from __future__ import annotations

import numpy as np

from s4_core.arrays import finite_points
from s4_core.clock import ns_to_seconds
from s4_core.tracks import TrackSet


def track_mean_positions(tracks: TrackSet, frame_mask: np.ndarray, use_3d: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean position of every track over the visible frames selected by ``frame_mask``.

    Args:
        tracks: one camera's tracks.
        frame_mask: frames to average over [T] bool.
        use_3d: average ``xyz`` (needs 3D tracks) instead of ``uv``.

    Returns:
        mean: positions [N, 3] or [N, 2] (NaN for tracks never seen in the range).
        seen: number of visible frames per track in the range [N].
    """
    if frame_mask.shape != (tracks.num_frames,):
        raise ValueError(f"frame_mask must be [{tracks.num_frames}], got {frame_mask.shape}")
    pos = tracks.xyz if use_3d else tracks.uv
    if pos is None:
        raise ValueError(f"camera {tracks.camera} has no 3D tracks")
    valid = tracks.visible & frame_mask[:, None] & finite_points(pos)  # [T, N]
    seen = valid.sum(axis=0)
    total = np.where(valid[..., None], pos, 0.0).sum(axis=0, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / seen[:, None]
    return mean, seen


def common_stamp_masks(
    stamps_a_ns: np.ndarray, stamps_b_ns: np.ndarray, offset_b_minus_a_s: float, min_fraction: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Frames of A and B that cover the same capture interval, given the pair offset.

    The same instant is stamped ``t`` by A and ``t + offset_b_minus_a_s`` by B. When the common
    interval is shorter than ``min_fraction`` of the shorter window, all frames are kept: a short
    overlap would give noisier means than a slightly biased full window.

    Returns:
        mask_a [T_a] bool, mask_b [T_b] bool.
    """
    ta = ns_to_seconds(stamps_a_ns) + offset_b_minus_a_s  # A's frames in B's clock
    tb = ns_to_seconds(stamps_b_ns)
    lo, hi = max(ta[0], tb[0]), min(ta[-1], tb[-1])
    shorter = min(ta[-1] - ta[0], tb[-1] - tb[0])
    if hi - lo < min_fraction * shorter:
        return np.ones(len(ta), bool), np.ones(len(tb), bool)
    return (ta >= lo) & (ta <= hi), (tb >= lo) & (tb <= hi)


def normalized_distance_matrix(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Pairwise Euclidean distances [N, N] divided by their median off-diagonal value.

    Dividing by a robust scale makes the structure term blind to the similarity transform
    (rotation, translation *and* scale) between two cameras' world frames.

    Returns:
        distances [N, N] and the scale that was divided out.
    """
    diff = points[:, None, :] - points[None, :, :]
    dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    off = dist[~np.eye(len(points), dtype=bool)]
    scale = float(np.median(off)) if off.size else 1.0
    scale = scale if scale > 0 else 1.0
    return dist / scale, scale


def farthest_point_subsample(points: np.ndarray, confidence: np.ndarray, max_count: int) -> np.ndarray:
    """Indices of at most ``max_count`` well-spread, confident points.

    Greedy farthest-point sampling where each candidate's distance to the chosen set is scaled
    by its confidence, so the subset covers the scene (every region keeps tracks to match)
    while preferring reliable tracks. Starts from the most confident point.

    Args:
        points: positions [N, D].
        confidence: per-point confidence [N] in [0, 1].
        max_count: subset size bound.

    Returns:
        indices [min(N, max_count)] int64, in selection order.
    """
    n = len(points)
    if n <= max_count:
        return np.arange(n)
    chosen = np.empty(max_count, dtype=np.int64)
    chosen[0] = int(np.argmax(confidence))
    min_dist = np.linalg.norm(points - points[chosen[0]], axis=1)
    for k in range(1, max_count):
        chosen[k] = int(np.argmax(min_dist * (confidence + 1e-6)))
        min_dist = np.minimum(min_dist, np.linalg.norm(points - points[chosen[k]], axis=1))
    return chosen


def motion_to_noise_ratio(pos: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Per-track spread of positions over its noise level [K] (pos [T, K, D], visible [T, K]).

    The noise level is the RMS second difference over sqrt(6) (exact for white noise), which
    smooth motion barely raises at video rates.
    """
    x = np.where(visible[..., None], pos, np.nan)
    spread = np.sqrt(np.nansum(np.nanvar(x, axis=0), axis=-1))
    d2 = x[2:] - 2 * x[1:-1] + x[:-2]
    noise = np.sqrt(np.nansum(np.nanmean(d2**2, axis=0), axis=-1) / 6.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(spread / noise, nan=0.0, posinf=0.0)


def image_motion_px(tracks: TrackSet, frame_mask: np.ndarray) -> np.ndarray:
    """RMS radius [N] of each track's pixel positions over the selected visible frames [T].

    The rig's cameras are static, so a static surface stays on its pixel up to tracking noise
    (a fraction of a pixel) whatever its depth noise; a moving one sweeps pixels. Tracks seen in
    fewer than two selected frames get 0.
    """
    valid = tracks.visible & frame_mask[:, None] & finite_points(tracks.uv)  # [T, N]
    n = np.maximum(valid.sum(axis=0), 1)
    sq = np.zeros(tracks.num_tracks)
    for axis in range(2):  # sum of squares minus n mean^2, per coordinate (float64: pixels, no cancellation)
        x = np.where(valid, tracks.uv[..., axis], 0.0).astype(np.float64)
        sq += np.einsum("tn,tn->n", x, x) - x.sum(axis=0) ** 2 / n
    return np.where(valid.sum(axis=0) >= 2, np.sqrt(np.maximum(sq, 0.0) / n), 0.0)
