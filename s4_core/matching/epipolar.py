"""Two-view epipolar geometry of calibrated cameras (RGB-only cross term and residual)."""

from __future__ import annotations

import numpy as np

from s4_core.camera import PinholeCamera


def fundamental_matrix(cam_a: PinholeCamera, cam_b: PinholeCamera) -> np.ndarray:
    """F [3, 3] with ``x_b^T F x_a = 0`` for pixels of one world point seen by both cameras."""
    b_from_a = cam_b.camera_from_world @ cam_a.world_from_camera
    R, t = b_from_a[:3, :3], b_from_a[:3, 3]
    t_cross = np.array([[0.0, -t[2], t[1]], [t[2], 0.0, -t[0]], [-t[1], t[0], 0.0]])
    F = np.linalg.inv(cam_b.K).T @ t_cross @ R @ np.linalg.inv(cam_a.K)
    return F / np.linalg.norm(F)


def sampson_distance_px(F: np.ndarray, uv_a: np.ndarray, uv_b: np.ndarray) -> np.ndarray:
    """Signed first-order geometric (Sampson) error, pixels, for pixel pairs [..., 2].

    Signed (not squared) so it can be used as a least-squares residual whose derivative with
    respect to a time shift exists everywhere.
    """
    xa = np.concatenate([uv_a, np.ones(uv_a.shape[:-1] + (1,))], axis=-1)
    xb = np.concatenate([uv_b, np.ones(uv_b.shape[:-1] + (1,))], axis=-1)
    Fxa = xa @ F.T  # [..., 3]
    Ftxb = xb @ F  # [..., 3]
    num = np.einsum("...i,...i->...", xb, Fxa)
    den = np.sqrt(Fxa[..., 0] ** 2 + Fxa[..., 1] ** 2 + Ftxb[..., 0] ** 2 + Ftxb[..., 1] ** 2)
    return num / np.maximum(den, 1e-12)
