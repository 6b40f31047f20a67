"""EWA projection of 3D Gaussians to image-space 2D Gaussians.

Shared by every compositor (tiled, brute force), so the compositors can be checked against each
other on exactly the same 2D Gaussians; the projection itself is checked by known answers.

Conventions: the camera is the ROS optical frame (x right, y down, z forward); ``viewmat`` is
camera_from_world [4, 4]; pixel centres sit at integer coordinates (OpenCV), so a point on the
optical axis lands on pixel ``(cx, cy)``. Scales are linear standard deviations in metres and
quaternions are ``wxyz`` (normalized here), as in gsplat.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from s4_core.splat.config import RasterConfig


@dataclass(frozen=True)
class ProjectedGaussians:
    """Gaussians in image space, in the order of the input Gaussians.

    Attributes:
        means2d: centres in pixels [N, 2] (differentiable).
        conics: inverse 2D covariance (a, b, c) of ``[[a, b], [b, c]]`` [N, 3] (differentiable).
        depths: optical-frame z in metres [N] (differentiable).
        radii: bounding-square half side in whole pixels [N] int64, 0 where culled.
    """

    means2d: Tensor
    conics: Tensor
    depths: Tensor
    radii: Tensor

    @property
    def visible(self) -> Tensor:
        """Mask [N] of the Gaussians that survived culling."""
        return self.radii > 0


def quat_to_rotmat(quats: Tensor) -> Tensor:  # quats [N, 4] wxyz
    """Rotation matrices [N, 3, 3] from (not necessarily unit) wxyz quaternions."""
    w, x, y, z = torch.nn.functional.normalize(quats, dim=-1).unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(quats.shape[:-1] + (3, 3))


def covariance_from_scales_quats(scales: Tensor, quats: Tensor) -> Tensor:
    """World covariances [N, 3, 3] = R S S^T R^T from linear scales [N, 3] and quats [N, 4]."""
    M = quat_to_rotmat(quats) * scales[..., None, :]
    return M @ M.transpose(-1, -2)


def project_gaussians(
    means: Tensor,  # [N, 3] world
    covariances: Tensor,  # [N, 3, 3] world
    viewmat: Tensor,  # [4, 4] camera_from_world
    K: Tensor,  # [3, 3]
    width: int,
    height: int,
    config: RasterConfig,
) -> ProjectedGaussians:
    """Project 3D Gaussians with the local affine (EWA) approximation of the perspective map.

    The 2D covariance is ``J W Sigma W^T J^T + eps2d I``; the dilation keeps sub-pixel Gaussians
    at least about a pixel wide so they cannot alias away (3DGS). The Jacobian is evaluated at a
    point clamped to 1.3x the field of view, as in 3DGS, so Gaussians far off-screen do not get
    exploding footprints. Culled (radius 0): behind the near plane or beyond the far plane,
    degenerate covariance, or a bounding square fully outside the image.
    """
    R, t = viewmat[:3, :3], viewmat[:3, 3]
    p_cam = means @ R.T + t
    x, y, z = p_cam.unbind(-1)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    in_depth = (z > config.near_m) & (z < config.far_m)
    z_safe = torch.where(in_depth, z, torch.ones_like(z))
    tan_x, tan_y = 0.5 * width / fx, 0.5 * height / fy
    tx = z_safe * torch.clamp(x / z_safe, -(cx / fx + 0.3 * tan_x), (width - cx) / fx + 0.3 * tan_x)
    ty = z_safe * torch.clamp(y / z_safe, -(cy / fy + 0.3 * tan_y), (height - cy) / fy + 0.3 * tan_y)
    zeros = torch.zeros_like(z)
    J = torch.stack(
        [fx / z_safe, zeros, -fx * tx / z_safe**2, zeros, fy / z_safe, -fy * ty / z_safe**2], dim=-1
    ).reshape(-1, 2, 3)
    JW = J @ R
    cov2d = JW @ covariances @ JW.transpose(-1, -2)
    a = cov2d[:, 0, 0] + config.eps2d
    b = cov2d[:, 0, 1]
    c = cov2d[:, 1, 1] + config.eps2d
    det = a * c - b * b
    ok = in_depth & (det > 0)
    det_safe = torch.where(ok, det, torch.ones_like(det))
    conics = torch.stack([c / det_safe, -b / det_safe, a / det_safe], dim=-1)
    means2d = torch.stack([fx * x / z_safe + cx, fy * y / z_safe + cy], dim=-1)
    radii = _bounding_radii(a.detach(), b.detach(), c.detach(), det.detach(), config.cutoff_sigma)
    radii = torch.where(ok, radii, torch.zeros_like(radii))
    radii = _cull_outside_image(radii, means2d.detach(), width, height)
    return ProjectedGaussians(means2d=means2d, conics=conics, depths=z, radii=radii)


def _bounding_radii(a: Tensor, b: Tensor, c: Tensor, det: Tensor, cutoff_sigma: float) -> Tensor:
    """Half side [N] (int64 pixels) of a square holding the ``cutoff_sigma`` ellipse."""
    mid = 0.5 * (a + c)
    lambda_max = mid + torch.sqrt(torch.clamp(mid * mid - det, min=0.1))
    return torch.ceil(cutoff_sigma * torch.sqrt(torch.clamp(lambda_max, min=0.0))).to(torch.int64)


def _cull_outside_image(radii: Tensor, means2d: Tensor, width: int, height: int) -> Tensor:
    """Zero the radii of Gaussians whose bounding square misses every pixel centre."""
    u, v = means2d.unbind(-1)
    r = radii.to(means2d.dtype)
    outside = (u + r < 0) | (u - r > width - 1) | (v + r < 0) | (v - r > height - 1)
    outside |= ~torch.isfinite(u) | ~torch.isfinite(v)
    return torch.where(outside, torch.zeros_like(radii), radii)


def gaussian_weight_exponent(conics: Tensor, dx: Tensor, dy: Tensor) -> Tensor:
    """Mahalanobis half-distance ``sigma = 0.5 d^T Sigma^-1 d`` for offsets ``d = pixel - mean``.

    ``conics`` [..., 3] broadcasts against ``dx``/``dy``; the caller arranges the axes.
    """
    a, b, c = conics.unbind(-1)
    return 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy

