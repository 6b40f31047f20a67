"""Ray casting against the scene: first hit, which body, and which material point.

All rays of one cast share an origin (a camera centre), which makes the bounding-sphere cull a
single dot product per ray. Each body's rays are mapped into its rest coordinates by the
inverse of its affine pose, where the intersection is analytic, and the ray parameter carries
over unchanged; with directions whose optical-frame z is 1, that parameter is the z-depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s4_core.synth.motion import BodyPose
from s4_core.synth.scene import Body

#: Object id of a ray that hits nothing.
NO_OBJECT = -1


@dataclass(frozen=True)
class RayHits:
    """First hits of P rays.

    Attributes:
        ray_param: [P] ray parameter of the hit (z-depth for camera rays), inf on a miss.
        object_id: [P] int32 id of the body hit, ``NO_OBJECT`` on a miss.
        rest_xyz: [P, 3] hit point in the body's rest coordinates (NaN on a miss).
        normal_world: [P, 3] unit surface normal in the world (NaN on a miss).
    """

    ray_param: np.ndarray
    object_id: np.ndarray
    rest_xyz: np.ndarray
    normal_world: np.ndarray


def cast_rays(
    bodies: list[Body],
    poses: list[BodyPose],
    origin: np.ndarray,
    dirs: np.ndarray,
    behind: RayHits | None = None,
) -> RayHits:
    """Nearest hit of rays ``origin [3] + lam * dirs [P, 3]`` among posed bodies.

    Args:
        bodies: bodies to cast against.
        poses: pose of each body.
        origin: [3] shared ray origin.
        dirs: [P, 3] ray directions.
        behind: hits of other bodies along the same rays (e.g. the cached static background),
            which ``bodies`` may occlude; None when there are none.
    """
    num_rays = len(dirs)
    if behind is None:
        ray_param = np.full(num_rays, np.inf)
        object_id = np.full(num_rays, NO_OBJECT, dtype=np.int32)
        rest_xyz = np.full((num_rays, 3), np.nan)
        normal_world = np.full((num_rays, 3), np.nan)
    else:
        ray_param = behind.ray_param.copy()
        object_id = behind.object_id.copy()
        rest_xyz = behind.rest_xyz.copy()
        normal_world = behind.normal_world.copy()
    dirs_sq = np.einsum("pi,pi->p", dirs, dirs)
    for body, pose in zip(bodies, poses):
        candidates = _rays_near_sphere(
            origin, dirs, dirs_sq, pose.translation, body.shape.bounding_radius * float(np.max(pose.scale))
        )
        if candidates.size == 0:
            continue
        origin_rest = pose.to_rest(origin)
        dirs_rest = pose.direction_to_rest(dirs[candidates])
        lam = body.shape.intersect(origin_rest, dirs_rest)
        closer = lam < ray_param[candidates]
        winners = candidates[closer]
        ray_param[winners] = lam[closer]
        object_id[winners] = body.object_id
        rest_xyz[winners] = origin_rest + lam[closer, None] * dirs_rest[closer]
    for body, pose in zip(bodies, poses):
        mask = object_id == body.object_id
        if np.any(mask):
            normal_world[mask] = pose.normal_to_world(body.shape.normal_at(rest_xyz[mask]))
    return RayHits(ray_param, object_id, rest_xyz, normal_world)


def _rays_near_sphere(
    origin: np.ndarray, dirs: np.ndarray, dirs_sq: np.ndarray, center: np.ndarray, radius: float
) -> np.ndarray:
    """Indices of the rays that pass within ``radius`` of ``center`` ahead of the origin."""
    to_center = center - origin
    dist_sq = float(to_center @ to_center)
    if dist_sq <= radius * radius:
        return np.arange(len(dirs))
    along = dirs @ to_center
    miss_sq = dist_sq - along * along / dirs_sq
    return np.flatnonzero((along > 0.0) & (miss_sq <= radius * radius))
