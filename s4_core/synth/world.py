"""The synthetic multi-camera world: ground truth for every stage of s4.

A :class:`SyntheticWorld` is a continuous-time scene seen by calibrated cameras with their own
clocks. It renders RGB and metric z-depth by analytic ray casting (independent of the project's
Gaussian-splat renderer), and because every pixel knows which material point it sees, it gives
exact ground-truth 3D and 2D tracks, visibility and cross-camera correspondences.

Times called ``t_s`` are absolute reference (capture) times in seconds, the clock of ``cam0``;
the recording covers ``[t0_s, t0_s + duration_s)``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.clock import ClockModel
from s4_core.frames import Frame
from s4_core.synth.config import TIME_BASE_S, RandomStream, SynthConfig, stream_rng
from s4_core.synth.raycast import NO_OBJECT, RayHits, cast_rays
from s4_core.synth.rig import (
    CameraResponse,
    FrameTimes,
    build_cameras,
    build_clocks,
    build_responses,
    frame_times,
)
from s4_core.synth.scene import Body, Scene, build_scene
from s4_core.tracks import TrackSet

#: A traced point counts as visible when the first hit along its ray is within this distance
#: (metres, plus a relative part) of the point; a real occluder is always far more than that in front.
VISIBILITY_TOLERANCE_M = 1e-6
VISIBILITY_TOLERANCE_REL = 1e-6


@dataclass(frozen=True)
class SurfacePoints:
    """Material points of the scene, any leading shape ``[...]``.

    Attributes:
        object_id: [...] int32 body id (0 is the room), ``-1`` for no surface.
        local_xyz: [..., 3] float64 rest-shape coordinates of the point on that body (NaN for
            no surface); fixed for a material point while its body moves and deforms.
    """

    object_id: np.ndarray
    local_xyz: np.ndarray

    def __post_init__(self) -> None:
        if self.local_xyz.shape != self.object_id.shape + (3,):
            raise ValueError(f"local_xyz {self.local_xyz.shape} must be object_id {self.object_id.shape} + (3,)")

    def __getitem__(self, index) -> "SurfacePoints":
        """The points at ``index`` of the leading shape (NumPy indexing)."""
        return SurfacePoints(self.object_id[index], self.local_xyz[index])

    @property
    def shape(self) -> tuple[int, ...]:
        return self.object_id.shape

    @property
    def valid(self) -> np.ndarray:
        """[...] True where there is a surface."""
        return self.object_id != NO_OBJECT

    def same_as(self, other: "SurfacePoints", tolerance_m: float) -> np.ndarray:
        """[...] True where both name the same body and rest points within ``tolerance_m``."""
        distance = np.linalg.norm(self.local_xyz - other.local_xyz, axis=-1)
        return (self.object_id == other.object_id) & self.valid & (distance <= tolerance_m)


@dataclass(frozen=True)
class RenderedView:
    """One noiseless rendered image with its ground truth.

    Attributes:
        rgb: [H, W, 3] uint8 image.
        depth_m: [H, W] float32 z-depth in the optical frame.
        surface: [H, W] material point seen by each pixel centre.
    """

    rgb: np.ndarray
    depth_m: np.ndarray
    surface: SurfacePoints


@dataclass(frozen=True)
class GroundTruthTracks:
    """Ground-truth motion of material points as seen by one camera.

    Attributes:
        camera: camera name.
        times_s: [T] reference times.
        points: [N] the material points followed.
        xyz: [T, N, 3] world positions (NaN for points with no surface).
        uv: [T, N, 2] pixel positions (pixel centres at integers; NaN behind the camera).
        depth_m: [T, N] z-depth in the optical frame.
        visible: [T, N] in front of the camera, inside the image and not occluded.
    """

    camera: str
    times_s: np.ndarray
    points: SurfacePoints
    xyz: np.ndarray
    uv: np.ndarray
    depth_m: np.ndarray
    visible: np.ndarray

    def to_track_set(self, stamps_ns: np.ndarray) -> TrackSet:
        """These tracks as a :class:`TrackSet` in the world frame, stamped with ``stamps_ns [T]``.

        Descriptors are empty ([N, 0]); confidence is 1 where visible, 0 elsewhere.
        """
        num_points = self.points.shape[0]
        return TrackSet(
            camera=self.camera,
            track_ids=np.arange(num_points, dtype=np.int64),
            stamps_ns=np.asarray(stamps_ns, dtype=np.int64),
            uv=np.where(self.visible[..., None], self.uv, np.nan).astype(np.float32),
            visible=self.visible.copy(),
            xyz=self.xyz.astype(np.float32),
            descriptors=np.zeros((num_points, 0), dtype=np.float32),
            confidence=self.visible.astype(np.float32),
            world_frame="world",
        )


class SyntheticWorld:
    """A seeded synthetic recording: scene, cameras, clocks, frames and ground truth."""

    def __init__(self, config: SynthConfig) -> None:
        self.config = config
        self.scene: Scene = build_scene(config.seed)
        self.cameras: list[PinholeCamera] = build_cameras(config)
        self.responses: list[CameraResponse] = build_responses(config)
        self.clocks: dict[str, ClockModel] = build_clocks(config)
        self._frame_times = [frame_times(config, i, self.clocks[c.name]) for i, c in enumerate(self.cameras)]
        self._pixel_dirs = [_ray_dirs(c, _pixel_grid(c)) for c in self.cameras]
        self._backgrounds: dict[int, _Background] = {}

    @property
    def t0_s(self) -> float:
        """Reference time at which the recording starts (also every clock's ``t0_s``)."""
        return TIME_BASE_S

    @property
    def reference_camera(self) -> str:
        return self.cameras[0].name

    def frame_times(self, i: int) -> FrameTimes:
        """Capture times and stamps of camera ``i``'s recorded frames (after drops)."""
        return self._frame_times[i]

    def render(self, i: int, t_s: float) -> RenderedView:
        """Noiseless image, z-depth and surface points of camera ``i`` at reference time ``t_s``."""
        camera = self.cameras[i]
        background = self._background(i)
        moving = self.scene.moving_bodies
        poses = [body.motion.pose(t_s - self.t0_s) for body in moving]
        hits = cast_rays(moving, poses, camera.center_world, self._pixel_dirs[i], behind=background.hits)
        radiance = background.radiance.copy()
        self._shade_into(radiance, moving, hits)
        shape = (camera.height, camera.width)
        rgb = _expose(radiance, self.responses[i]).reshape(shape + (3,))
        return RenderedView(
            rgb=rgb,
            depth_m=hits.ray_param.reshape(shape).astype(np.float32),
            surface=SurfacePoints(hits.object_id.reshape(shape), hits.rest_xyz.reshape(shape + (3,))),
        )

    def frames(self, i: int) -> Iterator[Frame]:
        """Camera ``i``'s recorded frames in order: stamped in its clock, noisy, with depth if enabled."""
        camera = self.cameras[i]
        times = self._frame_times[i]
        for capture_s, stamp_ns, index in zip(times.capture_s, times.stamp_ns, times.frame_index):
            view = self.render(i, float(capture_s))
            noise_rng = stream_rng(self.config.seed, RandomStream.NOISE, i, int(index))
            yield Frame(
                camera=camera.name,
                stamp_ns=int(stamp_ns),
                rgb=_add_noise(view.rgb, self.config.noise_std, noise_rng),
                depth_m=view.depth_m if self.config.with_depth else None,
                model=camera,
            )

    def frames_in_capture_order(self) -> Iterator[tuple[float, int, Frame]]:
        """Every camera's frames merged by capture time, as a live rig delivers them:
        (capture time in seconds, camera index, frame); ties go to the lower camera index."""
        streams = [zip(self._frame_times[i].capture_s.tolist(), itertools.repeat(i), self.frames(i)) for i in range(len(self.cameras))]
        return heapq.merge(*streams, key=lambda item: (item[0], item[1]))

    def trace_pixels(self, i: int, t_s: float, uv: np.ndarray) -> SurfacePoints:
        """Material points [N] seen through (sub-)pixels ``uv [N, 2]`` of camera ``i`` at ``t_s``."""
        uv = _check_uv(uv)
        hits = self._cast(self.cameras[i], _ray_dirs(self.cameras[i], uv), t_s)
        return SurfacePoints(hits.object_id, hits.rest_xyz)

    def positions(self, points: SurfacePoints, t_s: float) -> np.ndarray:
        """World positions [..., 3] of material points at reference time ``t_s`` (NaN for none)."""
        xyz = np.full(points.local_xyz.shape, np.nan)
        for body, pose in zip(self.scene.bodies, self.scene.poses(t_s - self.t0_s)):
            mask = points.object_id == body.object_id
            if np.any(mask):
                xyz[mask] = pose.to_world(points.local_xyz[mask])
        return xyz

    def observe(self, i: int, points: SurfacePoints, times_s: np.ndarray) -> GroundTruthTracks:
        """Where material points [N] are, and whether camera ``i`` sees them, at times [T].

        Works for any camera, so points traced in one camera give ground-truth
        correspondences in another.
        """
        if len(points.shape) != 1:
            raise ValueError(f"points must be [N], got shape {points.shape}")
        times_s = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
        if times_s.ndim != 1:
            raise ValueError(f"times_s must be [T], got shape {times_s.shape}")
        camera = self.cameras[i]
        xyz = np.stack([self.positions(points, float(t)) for t in times_s])
        uv, depth_m = camera.project(xyz)
        uv = np.where(depth_m[..., None] > 0.0, uv, np.nan)
        visible = np.stack([self._unoccluded(i, t, uv[k], depth_m[k], points) for k, t in enumerate(times_s)])
        return GroundTruthTracks(camera.name, times_s, points, xyz, uv, depth_m, visible)

    def gt_tracks(self, i: int, anchor_t_s: float, uv: np.ndarray, times_s: np.ndarray) -> GroundTruthTracks:
        """Ground-truth tracks of the points seen through pixels ``uv [N, 2]`` of camera ``i`` at
        ``anchor_t_s``, followed in the same camera over ``times_s [T]``."""
        return self.observe(i, self.trace_pixels(i, anchor_t_s, uv), times_s)

    def _unoccluded(
        self, i: int, t_s: float, uv: np.ndarray, depth_m: np.ndarray, points: SurfacePoints
    ) -> np.ndarray:
        """[N] points inside camera ``i``'s image whose pixel ray first hits the point itself."""
        camera = self.cameras[i]
        with np.errstate(invalid="ignore"):
            in_image = (
                points.valid
                & (depth_m > 0.0)
                & (uv[:, 0] >= -0.5)
                & (uv[:, 0] < camera.width - 0.5)
                & (uv[:, 1] >= -0.5)
                & (uv[:, 1] < camera.height - 0.5)
            )
        visible = np.zeros(len(uv), dtype=bool)
        candidates = np.flatnonzero(in_image)
        if candidates.size:
            hits = self._cast(camera, _ray_dirs(camera, uv[candidates]), t_s)
            gap = np.abs(hits.ray_param - depth_m[candidates])
            tolerance = VISIBILITY_TOLERANCE_M + VISIBILITY_TOLERANCE_REL * depth_m[candidates]
            visible[candidates] = (hits.object_id == points.object_id[candidates]) & (gap <= tolerance)
        return visible

    def _cast(self, camera: PinholeCamera, dirs: np.ndarray, t_s: float) -> RayHits:
        poses = self.scene.poses(t_s - self.t0_s)
        return cast_rays(list(self.scene.bodies), poses, camera.center_world, dirs)

    def _background(self, i: int) -> _Background:
        """Camera ``i``'s view of the static bodies, computed once: most pixels see only the room."""
        if i not in self._backgrounds:
            static = self.scene.static_bodies
            poses = [body.motion.pose(0.0) for body in static]
            hits = cast_rays(static, poses, self.cameras[i].center_world, self._pixel_dirs[i])
            radiance = np.zeros(hits.rest_xyz.shape)
            self._shade_into(radiance, static, hits)
            self._backgrounds[i] = _Background(hits, radiance)
        return self._backgrounds[i]

    def _shade_into(self, radiance: np.ndarray, bodies: list[Body], hits: RayHits) -> None:
        """Write the linear radiance [P, 3] (albedo times Lambertian shading) of the rays that hit
        ``bodies``; other rays keep their value."""
        for body in bodies:
            mask = hits.object_id == body.object_id
            if np.any(mask):
                irradiance = self.scene.light.shade(hits.normal_world[mask])
                radiance[mask] = body.texture.albedo(hits.rest_xyz[mask]) * irradiance[:, None]


@dataclass(frozen=True)
class _Background:
    """Hits of the static bodies through every pixel of one camera, and their radiance [P, 3]."""

    hits: RayHits
    radiance: np.ndarray


def _expose(radiance: np.ndarray, response: CameraResponse) -> np.ndarray:
    """8-bit colours [P, 3] of linear radiance through the camera's gain and white balance."""
    pixel = radiance * (response.gain * response.white_balance)
    return np.clip(np.rint(255.0 * pixel), 0, 255).astype(np.uint8)


def _pixel_grid(camera: PinholeCamera) -> np.ndarray:
    """Pixel-centre coordinates [H * W, 2] in row-major order."""
    u, v = np.meshgrid(np.arange(camera.width, dtype=np.float64), np.arange(camera.height, dtype=np.float64))
    return np.stack([u.ravel(), v.ravel()], axis=-1)


def _ray_dirs(camera: PinholeCamera, uv: np.ndarray) -> np.ndarray:
    """World directions [N, 3] through pixels [N, 2], scaled to optical-frame z = 1 (so the ray
    parameter of a hit is its z-depth)."""
    uv1 = np.concatenate([uv, np.ones((len(uv), 1))], axis=1)
    return (uv1 @ np.linalg.inv(camera.K).T) @ camera.world_from_camera[:3, :3].T


def _check_uv(uv: np.ndarray) -> np.ndarray:
    uv = np.asarray(uv, dtype=np.float64)
    if uv.ndim != 2 or uv.shape[1] != 2:
        raise ValueError(f"uv must be [N, 2], got shape {uv.shape}")
    return uv


def _add_noise(rgb: np.ndarray, noise_std: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian sensor noise in 8-bit levels, re-quantized."""
    if noise_std == 0.0:
        return rgb
    noisy = rgb + np.float32(noise_std) * rng.standard_normal(rgb.shape, dtype=np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
