"""Per-track descriptors for cross-camera matching, and what each is invariant to.

Layout of a descriptor row (:data:`DESCRIPTOR_NAMES`):

* Appearance (6): mean and standard deviation of each colour channel over a small disc-like
  window around the track at its anchor, after normalizing every channel of the anchor image
  to zero mean and unit variance. The per-channel normalization cancels a per-camera gain and
  bias on each channel (exposure, white balance, black level); statistics over a window instead
  of a raw patch make the values independent of the in-plane rotation of the camera and
  tolerant to small changes of viewpoint. Not invariant to lighting that differs by direction,
  nor to strongly different fields of view (they change the image statistics used to
  normalize).
* Motion (4), from the trajectory over the window's valid samples:
  ``speed_mean`` and ``speed_std`` (units/s), ``extent`` (radius of gyration, units) and
  ``straightness`` (net displacement over path length, in [0, 1]). For 3D tracks (metres) all
  four are invariant to the rigid transform between camera worlds, and ``straightness`` also
  to scale (monocular networks); all are insensitive to a clock offset as long as the window
  holds the same motion in both cameras. For 2D tracks they are in pixels and depend on the
  viewpoint, so they only help between similar views.
"""

from __future__ import annotations

import cv2
import numpy as np

DESCRIPTOR_NAMES: tuple[str, ...] = (
    "app_mean_r",
    "app_mean_g",
    "app_mean_b",
    "app_std_r",
    "app_std_g",
    "app_std_b",
    "speed_mean",
    "speed_std",
    "extent",
    "straightness",
)
NUM_APPEARANCE = 6
NUM_MOTION = 4
DESCRIPTOR_DIM = NUM_APPEARANCE + NUM_MOTION

_EPS = 1e-6


def appearance_descriptors(rgb: np.ndarray, uv: np.ndarray, radius_px: int = 3) -> np.ndarray:
    """Exposure- and white-balance-normalized colour statistics at ``uv``.

    The window statistics come from integral images (four reads per point), and the
    per-channel normalization is applied to them afterwards (it is affine per channel), so the
    cost follows the number of points, not the image.

    Args:
        rgb: anchor image [H, W, 3] uint8.
        uv: anchor positions [N, 2] in pixels (rounded to the nearest pixel).
        radius_px: half-size of the square window, pixels; the window is cut at the image border.

    Returns:
        [N, 6] float32: per-channel window mean then window standard deviation.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be [H, W, 3], got {rgb.shape}")
    h, w = rgb.shape[:2]
    total, total_sq = cv2.integral2(np.ascontiguousarray(rgb), sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)  # [H+1, W+1, 3]
    cols = np.clip(np.rint(uv[:, 0]).astype(np.int64), 0, w - 1)
    rows = np.clip(np.rint(uv[:, 1]).astype(np.int64), 0, h - 1)
    c0, c1 = np.maximum(cols - radius_px, 0), np.minimum(cols + radius_px + 1, w)
    r0, r1 = np.maximum(rows - radius_px, 0), np.minimum(rows + radius_px + 1, h)
    area = ((c1 - c0) * (r1 - r0))[:, None]

    def window_sum(integral: np.ndarray) -> np.ndarray:
        return integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]

    mean = window_sum(total) / area
    std = np.sqrt(np.maximum(window_sum(total_sq) / area - mean**2, 0.0))
    channel_mean, channel_std = (v.ravel() for v in cv2.meanStdDev(rgb))
    scale = 1.0 / (channel_std + _EPS)
    return np.concatenate([(mean - channel_mean) * scale, std * scale], axis=1).astype(np.float32)


def motion_descriptors(positions: np.ndarray, valid: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Time-shift-tolerant statistics of each trajectory.

    Only steps between consecutive frames where both samples are valid count as motion, so a
    gap never turns into a jump.

    Args:
        positions: [T, N, K] positions (K = 3 metres or K = 2 pixels); NaN allowed where invalid.
        valid: [T, N] bool, which samples to use.
        times_s: [T] frame times, seconds, increasing.

    Returns:
        [N, 4] float32 (speed_mean, speed_std, extent, straightness); zeros for a track
        without any valid step (callers drop such tracks).
    """
    t, n = valid.shape
    if positions.shape[:2] != (t, n) or times_s.shape != (t,):
        raise ValueError(f"positions {positions.shape}, valid {valid.shape}, times {times_s.shape} disagree")
    p = np.where(valid[..., None], positions, 0.0).astype(np.float64)
    step_ok = valid[1:] & valid[:-1]  # [T-1, N]
    dt = np.diff(times_s.astype(np.float64))[:, None]
    # Squared norms by einsum, in place where possible: on a full window ([240, 1500, 3]) the
    # temporaries of norm() and of squaring cost more than the arithmetic.
    steps = p[1:] - p[:-1]
    step_len = np.sqrt(np.einsum("tnk,tnk->tn", steps, steps))
    step_len *= step_ok
    n_steps = step_ok.sum(axis=0)
    speed = step_len / np.maximum(dt, _EPS)
    speed_mean = speed.sum(axis=0) / np.maximum(n_steps, 1)
    speed -= speed_mean
    speed_var = np.einsum("tn,tn->n", speed * step_ok, speed) / np.maximum(n_steps, 1)
    n_valid = np.maximum(valid.sum(axis=0), 1)
    centre = p.sum(axis=0) / n_valid[:, None]
    off_centre = p - centre
    off_centre *= valid[..., None]
    spread = np.einsum("tnk,tnk->n", off_centre, off_centre) / n_valid
    straightness = _net_displacement(p, valid) / np.maximum(step_len.sum(axis=0), _EPS)
    out = np.stack([speed_mean, np.sqrt(speed_var), np.sqrt(spread), np.clip(straightness, 0.0, 1.0)], axis=1)
    out[n_steps == 0] = 0.0
    return out.astype(np.float32)


def _net_displacement(p: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Distance [N] between the first and the last valid sample of each track."""
    t = valid.shape[0]
    first = np.argmax(valid, axis=0)
    last = t - 1 - np.argmax(valid[::-1], axis=0)
    cols = np.arange(valid.shape[1])
    return np.linalg.norm(p[last, cols] - p[first, cols], axis=-1)
