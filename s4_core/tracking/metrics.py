"""Track accuracy metrics, following St4RTrack's evaluation and TAP-Vid(-3D).

* ``apd_3d_percent``: St4RTrack's APD ("average percentage of points within delta"): the share
  of evaluated points whose 3D error is below each of the fixed metric thresholds
  0.1, 0.3, 0.5 and 1.0 m (``PIXEL_TO_FIXED_METRIC_THRESH`` in its ``track_eval_util.py``),
  averaged over the thresholds, in percent.
* ``apd_3d_depth_scaled_percent``: the TAP-Vid-3D variant, where the threshold of each point
  is a pixel threshold (1, 2, 4, 8, 16 px) turned into metres at the point's true depth,
  ``delta_px * z / f``; it is far stricter for a near, metric scene.
* ``epe_3d_m``: mean 3D end-point error, metres. ``pixel_error_px`` / ``pck_2d_percent``:
  the 2D equivalents (TAP-Vid's < delta^x_avg). ``occlusion_accuracy``: agreement of the
  predicted visibility with the true one.

Every function takes an ``evaluate`` mask [T, N] naming the points that count (usually: visible
in the ground truth). A point the tracker lost (NaN) counts as a miss for APD / PCK and is left
out of the mean errors, whose coverage ``coverage`` reports, so a tracker cannot look accurate
by dropping its hard points without it showing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from s4_core.tracks import TrackSet

ST4RTRACK_THRESHOLDS_M: tuple[float, ...] = (0.1, 0.3, 0.5, 1.0)
TAPVID_PIXEL_THRESHOLDS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)


def _errors(pred: np.ndarray, gt: np.ndarray, evaluate: np.ndarray) -> np.ndarray:
    """Euclidean errors [T, N] with +inf where the prediction is missing; checks shapes."""
    if pred.shape != gt.shape or pred.shape[:-1] != evaluate.shape:
        raise ValueError(f"pred {pred.shape}, gt {gt.shape} and evaluate {evaluate.shape} disagree")
    err = np.linalg.norm(pred.astype(np.float64) - gt.astype(np.float64), axis=-1)
    return np.where(np.isfinite(err), err, np.inf)


def _percent_within(err: np.ndarray, evaluate: np.ndarray, thresholds: np.ndarray) -> float:
    """Mean over K thresholds ([K, 1, 1] or per point [K, T, N]) of the share (percent) within."""
    if not evaluate.any():
        return float("nan")
    within = (err[None] <= thresholds) & evaluate[None]
    return float(100.0 * within.sum(axis=(1, 2)).mean() / evaluate.sum())


def apd_3d_percent(
    pred_xyz: np.ndarray, gt_xyz: np.ndarray, evaluate: np.ndarray, thresholds_m: tuple[float, ...] = ST4RTRACK_THRESHOLDS_M
) -> float:
    """St4RTrack APD: mean share (percent) of points within each metric threshold.

    Args:
        pred_xyz: predicted positions [T, N, 3], metres, NaN where missing.
        gt_xyz: true positions [T, N, 3], metres.
        evaluate: points that count [T, N] bool.
        thresholds_m: distance thresholds, metres.
    """
    return _percent_within(_errors(pred_xyz, gt_xyz, evaluate), evaluate, np.asarray(thresholds_m)[:, None, None])


def apd_3d_depth_scaled_percent(
    pred_xyz: np.ndarray,
    gt_xyz: np.ndarray,
    evaluate: np.ndarray,
    gt_depth_m: np.ndarray,
    focal_px: float,
    pixel_thresholds: tuple[float, ...] = TAPVID_PIXEL_THRESHOLDS,
) -> float:
    """TAP-Vid-3D APD: thresholds of ``delta_px * z / focal_px`` metres per point.

    Args:
        pred_xyz, gt_xyz, evaluate: as in :func:`apd_3d_percent`.
        gt_depth_m: true z-depth of each point in the evaluating camera [T, N], metres.
        focal_px: focal length of that camera, pixels.
        pixel_thresholds: thresholds at the image plane, pixels.
    """
    if gt_depth_m.shape != evaluate.shape:
        raise ValueError(f"gt_depth_m {gt_depth_m.shape} must match evaluate {evaluate.shape}")
    thr = np.asarray(pixel_thresholds, np.float64)[:, None, None] * (gt_depth_m / focal_px)[None]
    return _percent_within(_errors(pred_xyz, gt_xyz, evaluate), evaluate, thr)


def _mean_finite(err: np.ndarray, evaluate: np.ndarray) -> float:
    counted = evaluate & np.isfinite(err)
    return float(err[counted].mean()) if counted.any() else float("nan")


def epe_3d_m(pred_xyz: np.ndarray, gt_xyz: np.ndarray, evaluate: np.ndarray) -> float:
    """Mean 3D end-point error (metres) over evaluated points the tracker did predict."""
    return _mean_finite(_errors(pred_xyz, gt_xyz, evaluate), evaluate)


def pixel_error_px(pred_uv: np.ndarray, gt_uv: np.ndarray, evaluate: np.ndarray) -> float:
    """Mean 2D position error (pixels) over evaluated points the tracker did predict."""
    return _mean_finite(_errors(pred_uv, gt_uv, evaluate), evaluate)


def pck_2d_percent(
    pred_uv: np.ndarray, gt_uv: np.ndarray, evaluate: np.ndarray, thresholds_px: tuple[float, ...] = TAPVID_PIXEL_THRESHOLDS
) -> float:
    """TAP-Vid < delta^x_avg: mean share (percent) of points within each pixel threshold."""
    return _percent_within(_errors(pred_uv, gt_uv, evaluate), evaluate, np.asarray(thresholds_px)[:, None, None])


def occlusion_accuracy(pred_visible: np.ndarray, gt_visible: np.ndarray, evaluate: np.ndarray) -> float:
    """Share (0..1) of evaluated points whose predicted visibility equals the true one."""
    if pred_visible.shape != gt_visible.shape or gt_visible.shape != evaluate.shape:
        raise ValueError(f"visibility shapes {pred_visible.shape} {gt_visible.shape} {evaluate.shape} disagree")
    if not evaluate.any():
        return float("nan")
    return float((pred_visible == gt_visible)[evaluate].mean())


def coverage(pred: np.ndarray, evaluate: np.ndarray) -> float:
    """Share (0..1) of evaluated points for which the tracker gave a finite position."""
    if not evaluate.any():
        return float("nan")
    return float(np.all(np.isfinite(pred), axis=-1)[evaluate].mean())


class TrueTracks(Protocol):
    """Ground truth for the same points, in the same order, as a TrackSet.

    :class:`s4_core.synth.GroundTruthTracks` has this shape.

    Attributes:
        uv: true pixel positions [T, N, 2].
        visible: true visibility [T, N].
        xyz: true world positions [T, N, 3].
        depth_m: true z-depth in the camera [T, N] (for the depth-scaled APD).
    """

    uv: np.ndarray
    visible: np.ndarray
    xyz: np.ndarray
    depth_m: np.ndarray


@dataclass(frozen=True)
class TrackScore:
    """All metrics of one TrackSet against ground truth (NaN where they do not apply).

    The 3D and 2D errors count points visible in the ground truth; occlusion accuracy counts
    all points of the window after the anchor row.
    """

    epe_3d_m: float
    apd_3d_percent: float
    apd_3d_depth_scaled_percent: float
    coverage_3d: float
    pixel_error_px: float
    pck_2d_percent: float
    coverage_2d: float
    occlusion_accuracy: float


def score_tracks(tracks: TrackSet, truth: TrueTracks, focal_px: float) -> TrackScore:
    """Score ``tracks`` against ``truth`` (same frames and points, same order)."""
    evaluate = truth.visible
    nan = float("nan")
    has_3d = tracks.xyz is not None
    return TrackScore(
        epe_3d_m=epe_3d_m(tracks.xyz, truth.xyz, evaluate) if has_3d else nan,
        apd_3d_percent=apd_3d_percent(tracks.xyz, truth.xyz, evaluate) if has_3d else nan,
        apd_3d_depth_scaled_percent=(
            apd_3d_depth_scaled_percent(tracks.xyz, truth.xyz, evaluate, truth.depth_m, focal_px) if has_3d else nan
        ),
        coverage_3d=coverage(tracks.xyz, evaluate) if has_3d else nan,
        pixel_error_px=pixel_error_px(tracks.uv, truth.uv, evaluate),
        pck_2d_percent=pck_2d_percent(tracks.uv, truth.uv, evaluate),
        coverage_2d=coverage(tracks.uv, evaluate),
        occlusion_accuracy=occlusion_accuracy(tracks.visible[1:], truth.visible[1:], np.ones_like(truth.visible[1:])),
    )
