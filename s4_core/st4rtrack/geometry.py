"""Camera geometry read off pointmaps: focal length, relative pose, similarity between frames.

All functions work on torch tensors (float64 internally) so the tracker and test-time adaptation
share them; none of them back-propagates (they produce detached estimates).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

log = logging.getLogger(__name__)

_EPS = 1e-9


def estimate_focal_from_pointmap(points: Tensor, principal_point_xy: tuple[float, float], iterations: int = 10) -> float:
    """Focal length (pixels) that best reprojects a camera-frame pointmap onto its own pixels.

    DUSt3R-style: with the principal point known, pixel ``p`` should equal ``c + f * (x, y) / z``;
    ``f`` is solved by least squares, then refined by Weiszfeld reweighting (a robust L1 fit).

    Args:
        points: pointmap in the camera's own frame [H, W, 3].
        principal_point_xy: principal point, pixels.
        iterations: Weiszfeld iterations.
    """
    _check_last_dim("points", points, 3, ndim=3)
    height, width = points.shape[:2]
    pts = points.detach().to(torch.float64).reshape(-1, 3)
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64), indexing="ij")
    centred = torch.stack((xs.flatten() - principal_point_xy[0], ys.flatten() - principal_point_xy[1]), dim=-1)
    valid = (pts[:, 2] > _EPS) & torch.isfinite(pts).all(dim=-1)
    ray = pts[valid, :2] / pts[valid, 2:3]
    centred = centred[valid]
    if len(ray) == 0:
        raise ValueError("no point in front of the camera: cannot estimate a focal length")
    weights = torch.ones(len(ray), dtype=torch.float64)
    focal = 0.0
    for _ in range(iterations + 1):
        focal = float((weights[:, None] * ray * centred).sum() / (weights[:, None] * ray * ray).sum().clamp(min=_EPS))
        residual = (centred - focal * ray).norm(dim=-1)
        weights = 1.0 / residual.clamp(min=1e-6)
    return focal


def intrinsics_matrix(focal_px: float, principal_point_xy: tuple[float, float]) -> Tensor:
    """K [3, 3] for square pixels."""
    return torch.tensor(
        [[focal_px, 0.0, principal_point_xy[0]], [0.0, focal_px, principal_point_xy[1]], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )


def project_points(points: Tensor, K: Tensor, min_depth: float = 1e-6) -> tuple[Tensor, Tensor]:
    """Pinhole projection of camera-frame points [..., 3] with K [3, 3].

    Returns:
        uv: pixels [..., 2] (depth clamped to ``min_depth`` so it stays finite and differentiable).
        depth: z [...].
    """
    _check_last_dim("points", points, 3)
    K = K.to(points)
    z = points[..., 2]
    xy = points[..., :2] / z.clamp(min=min_depth)[..., None]
    return xy * torch.stack((K[0, 0], K[1, 1])) + K[:2, 2], z


def transform_points(points: Tensor, transform: Tensor) -> Tensor:
    """Apply rigid/similarity transforms [..., 4, 4] to points [..., N, 3]."""
    transform = transform.to(points)
    return points @ transform[..., :3, :3].transpose(-1, -2) + transform[..., None, :3, 3]


def solve_camera_from_points(
    points: Tensor, pixels: Tensor, K: Tensor, weights: Tensor | None = None, iterations: int = 15
) -> Tensor:
    """Pose of a camera that sees 3D points (anchor frame) at given pixels (PnP).

    Levenberg-Marquardt on the reprojection error from the identity pose, which is where every
    frame of a short window starts; head 2 of St4RTrack supplies exactly these correspondences.

    Args:
        points: points in the anchor frame [N, 3].
        pixels: where the camera sees them [N, 2].
        K: intrinsics [3, 3].
        weights: per-point weights [N] (e.g. confidences); uniform when None.
        iterations: LM iterations.

    Returns:
        camera_from_anchor [4, 4] float64.
    """
    _check_last_dim("points", points, 3, ndim=2)
    _check_last_dim("pixels", pixels, 2, ndim=2)
    X = points.detach().to(torch.float64)
    uv = pixels.detach().to(torch.float64)
    K = K.detach().to(torch.float64)
    w = torch.ones(len(X), dtype=torch.float64) if weights is None else weights.detach().to(torch.float64).flatten()
    w = w.to(X.device)
    pose = torch.eye(4, dtype=torch.float64, device=X.device)
    damping = 1e-3
    cost = _reprojection_cost(X, uv, K, w, pose)
    for _ in range(iterations):
        p = transform_points(X, pose)
        jac, residual = _reprojection_jacobian(p, uv, K)
        jw = jac * w[:, None, None]
        H = torch.einsum("nik,nil->kl", jw, jac)
        g = torch.einsum("nik,ni->k", jw, residual)
        step = torch.linalg.solve(H + damping * torch.diag(H.diagonal() + 1e-9), -g)
        candidate = se3_exp(step) @ pose
        new_cost = _reprojection_cost(X, uv, K, w, candidate)
        if new_cost < cost:
            pose, cost, damping = candidate, new_cost, damping * 0.3
        else:
            damping *= 10.0
    return pose


def _reprojection_cost(X: Tensor, uv: Tensor, K: Tensor, w: Tensor, pose: Tensor) -> float:
    projected, _ = project_points(transform_points(X, pose), K)
    return float((w * (projected - uv).square().sum(-1)).sum())


def _reprojection_jacobian(p: Tensor, uv: Tensor, K: Tensor) -> tuple[Tensor, Tensor]:
    """d(projection)/d(left se3 increment) [N, 2, 6] and the residual [N, 2]."""
    z = p[:, 2].clamp(min=1e-6)
    fx, fy = K[0, 0], K[1, 1]
    d_proj = torch.zeros(len(p), 2, 3, dtype=p.dtype, device=p.device)
    d_proj[:, 0, 0] = fx / z
    d_proj[:, 0, 2] = -fx * p[:, 0] / z**2
    d_proj[:, 1, 1] = fy / z
    d_proj[:, 1, 2] = -fy * p[:, 1] / z**2
    d_point = torch.cat((-_skew(p), torch.eye(3, dtype=p.dtype, device=p.device).expand(len(p), 3, 3)), dim=-1)
    projected, _ = project_points(p, K)
    return d_proj @ d_point, projected - uv


def _skew(v: Tensor) -> Tensor:
    zero = torch.zeros_like(v[..., 0])
    return torch.stack(
        (
            torch.stack((zero, -v[..., 2], v[..., 1]), dim=-1),
            torch.stack((v[..., 2], zero, -v[..., 0]), dim=-1),
            torch.stack((-v[..., 1], v[..., 0], zero), dim=-1),
        ),
        dim=-2,
    )


def se3_exp(xi: Tensor) -> Tensor:
    """Rigid transform [4, 4] of a rotation vector and translation ``xi = (w, t)`` [6]."""
    omega, t = xi[:3], xi[3:]
    theta = omega.norm()
    W = _skew(omega)
    if theta < 1e-12:
        R = torch.eye(3, dtype=xi.dtype, device=xi.device) + W
    else:
        R = torch.eye(3, dtype=xi.dtype, device=xi.device) + torch.sin(theta) / theta * W + (1 - torch.cos(theta)) / theta**2 * W @ W
    out = torch.eye(4, dtype=xi.dtype, device=xi.device)
    out[:3, :3], out[:3, 3] = R, t
    return out


def umeyama_similarity(source: Tensor, target: Tensor, weights: Tensor | None = None) -> Tensor:
    """Similarity ``T`` [4, 4] (scale * rotation, translation) minimizing sum w |T(source) - target|^2.

    Used to chain anchors: the same pixels at the same time, seen from two anchor frames
    (each with its own monocular scale), give the transform between those frames.

    Args:
        source: points [N, 3].
        target: corresponding points [N, 3].
        weights: per-pair weights [N]; uniform when None.
    """
    _check_last_dim("source", source, 3, ndim=2)
    _check_last_dim("target", target, 3, ndim=2)
    src, dst = source.detach().to(torch.float64), target.detach().to(torch.float64)
    w = torch.ones(len(src), dtype=torch.float64) if weights is None else weights.detach().to(torch.float64)
    w = w / w.sum()
    mu_s, mu_d = (w[:, None] * src).sum(0), (w[:, None] * dst).sum(0)
    s_c, d_c = src - mu_s, dst - mu_d
    cov = (w[:, None] * d_c).T @ s_c
    U, S, Vt = torch.linalg.svd(cov)
    sign = torch.ones(3, dtype=torch.float64)
    sign[2] = torch.sign(torch.linalg.det(U @ Vt))
    R = U @ torch.diag(sign) @ Vt
    var_s = (w * s_c.square().sum(-1)).sum()
    scale = (S * sign).sum() / var_s.clamp(min=_EPS)
    out = torch.eye(4, dtype=torch.float64)
    out[:3, :3] = scale * R
    out[:3, 3] = mu_d - scale * R @ mu_s
    return out


def _check_last_dim(name: str, tensor: Tensor, size: int, ndim: int | None = None) -> None:
    if tensor.shape[-1] != size or (ndim is not None and tensor.ndim != ndim):
        shape = f"[{', '.join(['*'] * ((ndim or 2) - 1))}, {size}]"
        raise ValueError(f"{name} must be {shape}, got {tuple(tensor.shape)}")


def intrinsics_from_pointmap(points: Tensor) -> Tensor:
    """K [3, 3] of a camera-frame pointmap [H, W, 3]: principal point at the image centre and
    the focal length of :func:`estimate_focal_from_pointmap` (as DUSt3R does without calibration).

    A pointmap with no point in front of the camera (an untrained model) gets a focal of
    max(W, H) pixels (about 53 degrees of field of view) rather than an exception mid-stream.
    """
    height, width = points.shape[:2]
    centre = ((width - 1) / 2.0, (height - 1) / 2.0)
    try:
        focal = estimate_focal_from_pointmap(points, centre)
    except ValueError:
        log.warning("pointmap has no point in front of the camera: assuming focal %d px", max(width, height))
        focal = float(max(width, height))
    return intrinsics_matrix(focal, centre)


def frame_poses_from_reconstruction(
    pts_recon: Tensor,
    conf_recon: Tensor,
    K: Tensor,
    pixel_stride: int = 4,
    pixel_map: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Tensor:
    """camera_j_from_anchor [T, 4, 4] for every frame j from St4RTrack's head 2.

    Head 2 gives frame j's own pixels as 3D points in the anchor frame: a confidence-weighted
    PnP of those (every ``pixel_stride``-th pixel) gives frame j's pose. Frame 0 is the anchor.

    Args:
        pts_recon: head-2 pointmaps [T, H, W, 3].
        conf_recon: head-2 confidences [T, H, W].
        K: intrinsics [3, 3] of the image in which ``pixel_map`` expresses the pixels.
        pixel_stride: pixel subsampling.
        pixel_map: maps pointmap pixels [M, 2] to K's image (e.g. ``InputCrop.to_original``).
    """
    _check_last_dim("pts_recon", pts_recon, 3, ndim=4)
    frames, height, width = pts_recon.shape[:3]
    vs, us = torch.meshgrid(torch.arange(0, height, pixel_stride), torch.arange(0, width, pixel_stride), indexing="ij")
    pixels = torch.stack((us, vs), dim=-1).reshape(-1, 2).double().numpy()
    pixels = torch.from_numpy(pixel_map(pixels) if pixel_map is not None else pixels)
    poses = torch.eye(4, dtype=torch.float64).repeat(frames, 1, 1)
    for t in range(1, frames):
        points = pts_recon[t, ::pixel_stride, ::pixel_stride].reshape(-1, 3).cpu()
        weights = conf_recon[t, ::pixel_stride, ::pixel_stride].reshape(-1).cpu()
        poses[t] = solve_camera_from_points(points, pixels, K.cpu(), weights)
    return poses
