"""Shapes of Gaussians lifted from a depth image: the surface patch each sample pixel covers.

A sample pixel of a depth image stands for a patch of surface. Seen head-on the patch is a
disc of the pixel footprint (``depth * stride / f``), but a floor seen at a grazing angle
stretches it along the viewing direction by ``1 / cos`` of the angle between ray and normal.
Isotropic seeds sized by the footprint then leave gaps between rows of samples, which every
other viewpoint (a camera looking down on that floor) sees as stripes. Flat Gaussians lying in
the surface and stretched like the patch cover it from every side, as surfel methods do.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from s4_core.camera import PinholeCamera


def pixel_surfels(
    depth_m: np.ndarray, camera: PinholeCamera, v: np.ndarray, u: np.ndarray, stride_px: int, max_stretch: float, thickness: float
) -> tuple[Tensor, Tensor]:
    """Orientation and extent of the surface patch of each sample pixel.

    The patch is spanned by the 3D steps to the next samples along the image rows and columns
    (``stride_px`` away): the ellipse through both steps, thin along their normal. Of the two
    one-sided steps along each image axis the shorter is used, so a depth edge (a foreground
    object in front of the room) does not tilt or stretch the patches beside it. Where no
    patch can be formed (no valid neighbour), it is a disc facing the camera.

    Args:
        depth_m: z-depth image [H, W], metres (NaN or <= 0 where invalid).
        camera: its calibration.
        v, u: rows and columns [P] of the sample pixels (valid depth).
        stride_px: spacing of the samples.
        max_stretch: largest extent, in footprints (bounds patches seen almost edge-on).
        thickness: extent along the normal, in footprints.

    Returns:
        wxyz quaternions [P, 4] (axes: the patch's long axis, its short axis, its normal
        towards the camera) and extents [P, 3] along them in footprints (``z * stride / fx``,
        the extent of a patch facing the camera).
    """
    h, w = depth_m.shape
    centre = _lift(depth_m, camera, v, u)  # [P, 3] world
    steps = []
    for dv, du in ((0, stride_px), (stride_px, 0)):
        forward = _lift(depth_m, camera, np.clip(v + dv, 0, h - 1), np.clip(u + du, 0, w - 1)) - centre
        backward = centre - _lift(depth_m, camera, np.clip(v - dv, 0, h - 1), np.clip(u - du, 0, w - 1))
        shorter = np.nan_to_num(np.linalg.norm(forward, axis=1), nan=np.inf) <= np.nan_to_num(np.linalg.norm(backward, axis=1), nan=np.inf)
        steps.append(np.where(shorter[:, None], forward, backward))
    footprint_m = np.asarray(depth_m, np.float64)[v, u] * stride_px / camera.K[0, 0]
    span = np.stack(steps, axis=2) / footprint_m[:, None, None]  # [P, 3, 2], in footprints
    ok = np.all(np.isfinite(span), axis=(1, 2))
    facing = np.zeros_like(span)
    facing[:, :, 0], facing[:, :, 1] = camera.world_from_camera[:3, 0], camera.world_from_camera[:3, 1]
    span = np.where(ok[:, None, None], span, facing)
    axes, extent, _ = np.linalg.svd(span, full_matrices=False)  # [P, 3, 2], [P, 2]
    normal = np.cross(axes[:, :, 0], axes[:, :, 1])
    towards_camera = np.sum(normal * (camera.center_world[None] - centre), axis=1) >= 0
    sign = np.where(towards_camera, 1.0, -1.0)[:, None]
    rotation = np.stack([axes[:, :, 0], sign * axes[:, :, 1], sign * normal], axis=2)  # right-handed columns
    extent = np.minimum(np.maximum(extent, 1e-3), max_stretch)
    scales = np.concatenate([extent, np.full((len(v), 1), thickness)], axis=1)
    return torch.as_tensor(_quaternions(rotation), dtype=torch.float32), torch.as_tensor(scales, dtype=torch.float32)


def _lift(depth_m: np.ndarray, camera: PinholeCamera, v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """World points [P, 3] of pixels (v, u); NaN where the depth is invalid."""
    depth = np.asarray(depth_m, np.float64)[v, u]
    depth = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan)
    return camera.unproject(np.stack([u, v], -1).astype(np.float64), depth)


def _quaternions(rotation: np.ndarray) -> np.ndarray:
    """wxyz unit quaternions [P, 4] of rotation matrices [P, 3, 3] (Shepperd's method: the
    largest of the four diagonal combinations is divided by, so none is near zero)."""
    r = rotation
    trace = np.trace(r, axis1=1, axis2=2)
    candidates = np.stack([trace, r[:, 0, 0], r[:, 1, 1], r[:, 2, 2]], axis=1)
    pick = np.argmax(candidates, axis=1)
    q = np.empty((len(r), 4))
    for k in range(4):
        m = pick == k
        if not m.any():
            continue
        rk = r[m]
        if k == 0:
            s = 2.0 * np.sqrt(1.0 + trace[m])
            q[m] = np.stack([0.25 * s, (rk[:, 2, 1] - rk[:, 1, 2]) / s, (rk[:, 0, 2] - rk[:, 2, 0]) / s, (rk[:, 1, 0] - rk[:, 0, 1]) / s], 1)
        else:
            i, j, l = k - 1, k % 3, (k + 1) % 3
            s = 2.0 * np.sqrt(np.maximum(1.0 + rk[:, i, i] - rk[:, j, j] - rk[:, l, l], 1e-12))
            qk = np.empty((m.sum(), 4))
            qk[:, 0] = (rk[:, l, j] - rk[:, j, l]) / s
            qk[:, 1 + i] = 0.25 * s
            qk[:, 1 + j] = (rk[:, j, i] + rk[:, i, j]) / s
            qk[:, 1 + l] = (rk[:, l, i] + rk[:, i, l]) / s
            q[m] = qk
    return q / np.linalg.norm(q, axis=1, keepdims=True)
