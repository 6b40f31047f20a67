"""Gaussians lifted from depth take the shape of the surface patch their pixel covers."""

import numpy as np
import torch

from s4_core.camera import PinholeCamera, look_at
from s4_core.clock import seconds_to_ns
from s4_core.frames import Frame
from s4_core.splat.model import lift_depth
from s4_core.splat.projection import quat_to_rotmat
from s4_core.splat.render import render
from s4_core.splat.surfels import pixel_surfels

W, H = 64, 48
K = np.array([[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]])


def _floor_depth(camera: PinholeCamera) -> np.ndarray:
    """z-depth [H, W] of the floor z = 0 seen by ``camera`` (NaN above the horizon)."""
    v, u = np.mgrid[0 : camera.height, 0 : camera.width]
    rays_cam = np.stack([(u - camera.K[0, 2]) / camera.K[0, 0], (v - camera.K[1, 2]) / camera.K[1, 1], np.ones(u.shape)], -1)
    rays_world = rays_cam @ camera.world_from_camera[:3, :3].T  # z-depth 1 along the optical axis
    scale = -camera.center_world[2] / rays_world[..., 2]
    return np.where(scale > 0, scale, np.nan)


def _grazing_camera() -> PinholeCamera:
    return PinholeCamera("grazing", W, H, K, look_at(np.array([0.0, -3.0, 0.6]), np.array([0.0, 0.0, 0.0])))


def test_surfels_lie_in_the_floor_and_reach_the_neighbouring_samples():
    camera = _grazing_camera()
    depth = _floor_depth(camera)
    v, u = np.mgrid[26:46:4, 2:60:6]
    v, u = v.ravel(), u.ravel()
    quats, scales = pixel_surfels(depth, camera, v, u, stride_px=2, max_stretch=50.0, thickness=0.3)
    axes = quat_to_rotmat(quats.double()).numpy()  # columns: long, short, normal
    np.testing.assert_allclose(axes[:, :, 2], np.tile([0.0, 0.0, 1.0], (len(v), 1)), atol=1e-6)  # up, towards the camera
    footprint_m = depth[v, u] * 2 / K[0, 0]
    centre = camera.unproject(np.stack([u, v], -1).astype(float), depth[v, u])
    for du, dv in ((2, 0), (0, 2)):  # the next samples along the row and the column lie on the patch's 1-sigma ellipse
        step = camera.unproject(np.stack([u + du, v + dv], -1).astype(float), depth[v + dv, u + du]) - centre
        inplane = np.einsum("pij,pi->pj", axes[:, :, :2], step) / (scales[:, :2].numpy() * footprint_m[:, None])
        np.testing.assert_allclose(np.linalg.norm(inplane, axis=1), 1.0, atol=0.1)
    long = scales[:, 0].numpy().reshape(5, -1)
    assert long.min() > 1.5 and np.all(long[0] > long[-1])  # seen at a grazing angle, the patches are long ...
    np.testing.assert_allclose(scales[:, 1].numpy(), 1.0, atol=0.15)  # ... not wide ...
    np.testing.assert_allclose(scales[:, 2].numpy(), 0.3, rtol=1e-6)  # ... and thin
    capped = pixel_surfels(depth, camera, v, u, stride_px=2, max_stretch=3.0, thickness=0.3)[1]
    assert capped[:, 0].max() == 3.0


def test_a_depth_edge_does_not_tilt_the_patches_beside_it():
    camera = PinholeCamera("front", W, H, K, look_at(np.array([0.0, -3.0, 0.0]), np.zeros(3)))
    depth = np.full((H, W), 3.0)
    depth[:, 32:] = 1.0  # a box in front of the right half of the wall
    v = np.arange(4, 44, 4)
    for column in (31, 32):  # the last wall column and the first box column
        quats, scales = pixel_surfels(depth, camera, v, np.full_like(v, column), stride_px=2, max_stretch=4.0, thickness=0.3)
        normal = quat_to_rotmat(quats.double()).numpy()[:, :, 2]
        np.testing.assert_allclose(normal, np.tile([0.0, -1.0, 0.0], (len(v), 1)), atol=1e-9)  # facing the camera
        np.testing.assert_allclose(scales[:, :2].numpy(), 1.0, rtol=1e-6)  # a pixel's footprint: not stretched


def test_a_floor_seeded_at_a_grazing_angle_is_covered_when_seen_from_above():
    """Isotropic seeds sized by the pixel footprint leave gaps between the rows of a floor seen
    at a grazing angle; patches stretched along the floor cover it for a camera above it."""
    camera = _grazing_camera()
    depth = _floor_depth(camera)
    frame = Frame("grazing", seconds_to_ns(1.0), np.full((H, W, 3), 200, np.uint8), depth_m=depth.astype(np.float32), model=camera)
    points, colours, footprint_m, pixels = lift_depth(frame, camera, 2, 0.01)
    above = PinholeCamera("above", W, H, K, look_at(np.array([0.0, -1.2, 2.5]), np.array([0.0, -1.2, 0.0]), np.array([0.0, 1.0, 0.0])))
    # Floor points the overhead camera sees that lie well inside the grazing camera's samples.
    floor_points = above.unproject(np.stack(np.meshgrid(np.arange(W), np.arange(H)), -1).reshape(-1, 2).astype(float),
                                   np.full(H * W, 2.5))  # fmt: skip
    uv, z = camera.project(floor_points)
    inside = (z > 0) & (uv[:, 0] > 4) & (uv[:, 0] < W - 5) & (uv[:, 1] > depth.shape[0] // 2 + 4) & (uv[:, 1] < H - 5)
    assert inside.sum() > 200

    def coverage(max_stretch: float, thickness: float) -> float:
        quats, stretch = pixel_surfels(depth, camera, *pixels, 2, max_stretch, thickness)
        out = render(points, quats, 0.5 * footprint_m[:, None] * stretch, torch.full((len(points),), 0.8), colours, above)
        return float((out.alpha.reshape(-1)[torch.as_tensor(inside)] > 0.5).float().mean())

    isotropic, surfels = coverage(1.0, 1.0), coverage(4.0, 0.3)
    assert isotropic < 0.8
    assert surfels > 0.95


def test_quaternions_of_rotations_round_trip_through_the_renderer_convention():
    """Every branch of the matrix-to-quaternion conversion (each picks a different divisor)."""
    from scipy.spatial.transform import Rotation

    from s4_core.splat.surfels import _quaternions

    rotations = np.concatenate([Rotation.random(200, random_state=3).as_matrix(),
                                np.diag([1.0, -1.0, -1.0])[None], np.diag([-1.0, 1.0, -1.0])[None], np.diag([-1.0, -1.0, 1.0])[None]])  # fmt: skip
    back = quat_to_rotmat(torch.as_tensor(_quaternions(rotations))).numpy()
    np.testing.assert_allclose(back, rotations, atol=1e-9)
