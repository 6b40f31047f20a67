"""Motion of track points between two consecutive grey frames, forward and back.

Two families, measured on the synthetic 4-camera scene (30-frame windows, 320x240):

* pyramidal Lucas-Kanade on the points only (``LK_PYRAMID``, the default): cost grows with the
  number of points, not the image, and its small window (7 px) mixes little of an occluding
  boundary into a point's estimate: 3D EPE ~0.013 m, 2D error ~0.5 px;
* dense DIS flow (Kroeger et al., 2016) sampled bilinearly at the points: ~1 ms per field for
  the ultrafast preset, but its coarse patches and smoothing drag points near moving objects:
  3D EPE ~0.044 m (ultrafast), ~0.024 m with finest scale 1 at 3x the cost. Farneback is
  slower still (~18 ms per field).

Both directions are computed so that the forward-backward round trip can flag occlusions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np

from s4_core.arrays import finite_points
from s4_core.tracking.sampling import sample_bilinear


class FlowMethod(enum.Enum):
    """Point motion estimators available from OpenCV."""

    LK_PYRAMID = "lk_pyramid"
    DIS_ULTRAFAST = "dis_ultrafast"
    DIS_FAST = "dis_fast"
    DIS_MEDIUM = "dis_medium"
    FARNEBACK = "farneback"


_DIS_PRESETS = {
    FlowMethod.DIS_ULTRAFAST: cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    FlowMethod.DIS_FAST: cv2.DISOPTICAL_FLOW_PRESET_FAST,
    FlowMethod.DIS_MEDIUM: cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


@dataclass(frozen=True)
class FlowConfig:
    """Settings of the point motion estimator.

    Attributes:
        method: estimator.
        lk_window_px: side of the Lucas-Kanade window, pixels (odd).
        lk_levels: most pyramid levels above full resolution for Lucas-Kanade; each doubles the
            largest motion it can follow (about a window per level). Fewer are used on small
            images, whose coarsest level must still be four windows wide, or points near its
            border fail.
        lk_iterations: Gauss-Newton iterations per level.
        lk_first_levels: pyramid levels of a first, cheaper Lucas-Kanade pass (each level about
            doubles a point's cost), for the points expected to move less than half its reach
            (``lk_window_px // 2`` times ``2 ** lk_first_levels`` pixels); ``lk_levels`` or more:
            one pass, every point on all levels. See :meth:`PointFlow.track` for when the full
            pyramid takes over.
        lk_retry_round_trip_px: largest forward-backward round trip of the first pass that is
            kept, pixels; points beyond it are tracked again on all levels.
        lk_retry_all_share: when more than this share of the first pass's points are tracked
            again, all of them are.
    """

    method: FlowMethod = FlowMethod.LK_PYRAMID
    lk_window_px: int = 7
    lk_levels: int = 3
    lk_iterations: int = 30
    lk_first_levels: int = 1
    lk_retry_round_trip_px: float = 0.5
    lk_retry_all_share: float = 0.2

    def __post_init__(self) -> None:
        if self.lk_window_px < 3 or self.lk_window_px % 2 == 0 or self.lk_levels < 0 or self.lk_iterations < 1:
            raise ValueError(f"invalid flow config {self}")
        if self.lk_first_levels < 0 or self.lk_retry_round_trip_px <= 0 or not 0 <= self.lk_retry_all_share <= 1:
            raise ValueError(f"invalid flow config {self}")


@dataclass(frozen=True)
class PointMotion:
    """Where points of frame a went in frame b, and where that lands back in frame a.

    Attributes:
        moved: positions in frame b [N, 2]; NaN where the estimator failed.
        returned: ``moved`` carried back into frame a [N, 2]; NaN where it failed.
    """

    moved: np.ndarray
    returned: np.ndarray

    def round_trip_error_px(self, uv: np.ndarray) -> np.ndarray:
        """Forward-backward error [N] in pixels (NaN where either direction failed)."""
        return np.linalg.norm(self.returned - uv, axis=1)


class PointFlow:
    """Moves points from one grey frame to the next (stateless between frame pairs)."""

    def __init__(self, config: FlowConfig | None = None) -> None:
        self.config = config or FlowConfig()
        method = self.config.method
        self._dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[method]) if method in _DIS_PRESETS else None
        self._lk_criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, self.config.lk_iterations, 0.01)

    def track(
        self, gray_a: np.ndarray, gray_b: np.ndarray, uv: np.ndarray, expected_motion_px: np.ndarray | None = None
    ) -> PointMotion:
        """Motion of points ``uv`` [N, 2] from ``gray_a`` to ``gray_b`` ([H, W] uint8).

        Args:
            gray_a, gray_b: consecutive grey frames.
            uv: points in ``gray_a`` [N, 2]; NaN rows come back NaN.
            expected_motion_px: how far each point is expected to move [N] (its last step, say),
                pixels; NaN or None where unknown. Lucas-Kanade gives points expected to move
                beyond its first pass's reach the full pyramid at once.
        """
        if gray_a.shape != gray_b.shape or gray_a.ndim != 2 or gray_a.dtype != np.uint8:
            raise ValueError(f"need two [H, W] uint8 images of one size, got {gray_a.shape} {gray_b.shape}")
        if uv.ndim != 2 or uv.shape[1] != 2:
            raise ValueError(f"uv must be [N, 2], got {uv.shape}")
        if self.config.method is FlowMethod.LK_PYRAMID:
            return self._lucas_kanade_both_ways(gray_a, gray_b, uv, expected_motion_px)
        moved = uv + sample_bilinear(self._dense(gray_a, gray_b), uv)
        return PointMotion(moved=moved, returned=moved + sample_bilinear(self._dense(gray_b, gray_a), moved))

    def _lucas_kanade_both_ways(
        self, gray_a: np.ndarray, gray_b: np.ndarray, uv: np.ndarray, expected_motion_px: np.ndarray | None
    ) -> PointMotion:
        """Forward and back, first on the few pyramid levels that most frame-to-frame motion
        needs, then on all levels where that is not enough.

        A point the short pyramid carries there and back lands where the full one puts it, to
        thousandths of a pixel, as long as it moved within that pyramid's reach. Beyond the
        reach most points fail the round trip, but some land on a look-alike that passes it
        (blurred noise moved 8-15 px: 3-8 % of all points with one level of a 7-px window).
        So the full pyramid takes over where a wrong landing is likely: for the points that
        failed, for the points expected to move beyond half the reach, and for all points
        when more than ``lk_retry_all_share`` failed (motion beyond the reach is widespread,
        so the passes are suspect too). On the synthetic scene (320x240 RGB-D, a track every
        10 px) one level first cut a camera's tracking from 6.5-7.3 to 5.0-5.5 ms of CPU per
        frame; the accuracy rows of ``s4 bench --only tracking`` moved by under 2 %, and at
        10 and 5 fps (larger motion) more points were kept, as accurate.
        """
        window = self.config.lk_window_px
        levels = int(np.clip(np.floor(np.log2(min(gray_a.shape) / (4 * window))), 0, self.config.lk_levels))
        first = min(levels, self.config.lk_first_levels)
        tracked = finite_points(uv)
        short = tracked.copy()
        if expected_motion_px is not None and first < levels:
            with np.errstate(invalid="ignore"):
                short &= ~(expected_motion_px > (window // 2) * 2**first / 2)
        moved = np.full(uv.shape, np.nan, dtype=np.float32)
        returned = np.full(uv.shape, np.nan, dtype=np.float32)
        moved[short] = self._lucas_kanade(gray_a, gray_b, uv[short], first)
        returned[short] = self._lucas_kanade(gray_b, gray_a, moved[short], first)
        full = tracked & ~short
        if first < levels and short.any():
            with np.errstate(invalid="ignore"):
                failed = short & ~(np.linalg.norm(returned - uv, axis=1) <= self.config.lk_retry_round_trip_px)
            full |= tracked if failed.sum() > self.config.lk_retry_all_share * short.sum() else failed
        if full.any():
            moved[full] = self._lucas_kanade(gray_a, gray_b, uv[full], levels)
            returned[full] = self._lucas_kanade(gray_b, gray_a, moved[full], levels)
        return PointMotion(moved=moved, returned=returned)

    def _lucas_kanade(self, gray_a: np.ndarray, gray_b: np.ndarray, uv: np.ndarray, levels: int) -> np.ndarray:
        out = np.full(uv.shape, np.nan, dtype=np.float32)
        ok = finite_points(uv)
        if not ok.any():
            return out
        window = self.config.lk_window_px
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            gray_a,
            gray_b,
            uv[ok].reshape(-1, 1, 2).astype(np.float32),
            None,
            winSize=(window, window),
            maxLevel=levels,
            criteria=self._lk_criteria,
        )
        out[ok] = np.where(status.reshape(-1, 1) == 1, moved.reshape(-1, 2), np.nan)
        return out

    def _dense(self, gray_a: np.ndarray, gray_b: np.ndarray) -> np.ndarray:
        """Dense flow field [H, W, 2] from a to b."""
        if self._dis is not None:
            return self._dis.calc(gray_a, gray_b, None)
        return cv2.calcOpticalFlowFarneback(gray_a, gray_b, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """Grey image [H, W] uint8 from an RGB image [H, W, 3] uint8."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
