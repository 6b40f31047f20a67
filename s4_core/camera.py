"""Pinhole camera model with extrinsics, in the ROS optical convention.

Camera frame: x right, y down, z forward (REP 103 optical frame). ``world_from_camera`` maps
camera coordinates to world coordinates; pixel centres sit at integer coordinates (OpenCV).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics and extrinsics of one camera.

    Attributes:
        name: camera name (also its ROS namespace).
        width: image width, pixels.
        height: image height, pixels.
        K: intrinsic matrix [3, 3].
        world_from_camera: rigid transform [4, 4] from the optical frame to the world frame.
    """

    name: str
    width: int
    height: int
    K: np.ndarray
    world_from_camera: np.ndarray = field(default_factory=lambda: np.eye(4))

    def __post_init__(self) -> None:
        if np.shape(self.K) != (3, 3):
            raise ValueError(f"K must be [3, 3], got {np.shape(self.K)}")
        if np.shape(self.world_from_camera) != (4, 4):
            raise ValueError(f"world_from_camera must be [4, 4], got {np.shape(self.world_from_camera)}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")

    @property
    def camera_from_world(self) -> np.ndarray:
        """Inverse extrinsics [4, 4]."""
        return invert_rigid(self.world_from_camera)

    @property
    def center_world(self) -> np.ndarray:
        """Optical centre in world coordinates [3]."""
        return self.world_from_camera[:3, 3].copy()

    def world_to_camera(self, xyz_world: np.ndarray) -> np.ndarray:
        """Points [..., 3] from world to optical frame."""
        T = self.camera_from_world
        return xyz_world @ T[:3, :3].T + T[:3, 3]

    def camera_to_world(self, xyz_cam: np.ndarray) -> np.ndarray:
        """Points [..., 3] from optical frame to world."""
        T = self.world_from_camera
        return xyz_cam @ T[:3, :3].T + T[:3, 3]

    def project(self, xyz_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project world points [..., 3] to pixels.

        Returns:
            uv: pixel coordinates [..., 2] (undefined where depth <= 0).
            depth_m: z in the optical frame [...].
        """
        p = self.world_to_camera(xyz_world)
        z = p[..., 2]
        safe = np.where(np.abs(z) > 1e-12, z, 1e-12)
        uv = (p[..., :2] / safe[..., None]) @ self.K[:2, :2].T + self.K[:2, 2]
        return uv, z

    def unproject(self, uv: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
        """Lift pixels [..., 2] with z-depth [...] to world points [..., 3]."""
        K_inv = np.linalg.inv(self.K)
        ones = np.ones(uv.shape[:-1] + (1,), dtype=np.float64)
        rays = np.concatenate([uv, ones], axis=-1) @ K_inv.T
        return self.camera_to_world(rays * np.asarray(depth_m)[..., None])


def invert_rigid(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid transform [4, 4] without a general matrix inverse."""
    out = np.eye(4)
    R = T[:3, :3]
    out[:3, :3] = R.T
    out[:3, 3] = -R.T @ T[:3, 3]
    return out


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """world_from_camera [4, 4] for an optical frame at ``eye`` looking at ``target``."""
    z = np.asarray(target, float) - np.asarray(eye, float)
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:
        x = np.cross(z, np.array([1.0, 0.0, 0.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, y, z], axis=1)
    T[:3, 3] = eye
    return T


def intrinsics_from_fov(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """K [3, 3] for square pixels, principal point at the image centre."""
    f = 0.5 * width / np.tan(np.deg2rad(hfov_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
