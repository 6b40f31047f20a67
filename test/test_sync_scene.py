"""A tiny, self-contained multi-camera track generator with known answers, and its own checks.

Rigid objects move smoothly in a true world; each camera has its own rate, clock (offset +
drift), world frame (a random similarity transform of the true world unless ``shared_world``),
visible subset, noise, and random track ids. Windows are cut by *stamps*, as a live node cuts
them, so a large offset leaves a shorter capture overlap. Other test modules import from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from s4_core.camera import PinholeCamera, intrinsics_from_fov, look_at
from s4_core.clock import ClockModel, seconds_to_ns
from s4_core.tracks import TrackSet


@dataclass(frozen=True)
class ToyRigConfig:
    num_cameras: int = 3
    num_points: int = 150
    duration_s: float = 6.0
    t_start_s: float = 0.0
    fps: tuple[float, ...] = (30.0, 25.0, 30.0, 25.0)
    offsets_s: tuple[float, ...] = (0.0, 0.037, -1.2, 2.4)
    drift_ppm: tuple[float, ...] = (0.0, 20.0, -30.0, 50.0)
    noise_m: float = 0.002
    noise_px: float = 0.3
    visible_fraction: float = 0.8
    shared_world: bool = False
    with_3d: bool = True
    static: bool = False
    disjoint_cameras: tuple[int, ...] = ()
    descriptor_noise: float = 0.3
    seed: int = 0


@dataclass(frozen=True)
class ToyRig:
    tracks: list[TrackSet]
    clocks: list[ClockModel]
    cameras: list[PinholeCamera]
    point_of_id: list[dict[int, int]] = field(default_factory=list)

    def gt_match(self, i: int, j: int) -> dict[int, int]:
        """Track id in camera i -> track id in camera j, for points both see."""
        id_of_point_j = {p: t for t, p in self.point_of_id[j].items()}
        return {t: id_of_point_j[p] for t, p in self.point_of_id[i].items() if p in id_of_point_j}

    def pair_offset_s(self, i: int, j: int, t_a_s: float | None = None) -> float:
        """True B-minus-A stamp difference of one instant at A's stamp ``t_a_s`` (default: mid-window)."""
        if t_a_s is None:
            t_a_s = float(np.mean(self.tracks[i].stamps_ns[[0, -1]]) / 1e9)
        capture = self.clocks[i].capture_time(t_a_s)
        return float(self.clocks[j].stamp_at(capture) - t_a_s)


def _object_motion(rng: np.random.Generator, static: bool):
    """A smooth rigid motion: centre path [3] and yaw angle as functions of time."""
    c0 = rng.uniform(-1.0, 1.0, 3) * np.array([1.0, 1.0, 0.3])
    amp = rng.uniform(0.15, 0.4, (3, 3)) * (0.0 if static else 1.0)
    freq = rng.uniform(0.15, 0.7, (3, 3))
    phase = rng.uniform(0, 2 * np.pi, (3, 3))
    yaw_amp = rng.uniform(0.3, 1.0) * (0.0 if static else 1.0)
    yaw_f, yaw_p = rng.uniform(0.1, 0.4), rng.uniform(0, 2 * np.pi)

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ang = 2 * np.pi * freq[None] * t[:, None, None] + phase[None]
        centre = c0 + (amp[None] * np.sin(ang)).sum(axis=2)  # [T, 3]
        yaw = yaw_amp * np.sin(2 * np.pi * yaw_f * t + yaw_p)  # [T]
        return centre, yaw

    return pose


def _true_positions(rng: np.random.Generator, num_points: int, static: bool, num_objects: int = 4):
    """A function of capture times [T] giving positions [T, P, 3] of points on rigid objects."""
    poses = [_object_motion(rng, static) for _ in range(num_objects)]
    owner = rng.integers(0, num_objects, num_points)
    local = rng.normal(0.0, 0.25, (num_points, 3))

    def at(t: np.ndarray) -> np.ndarray:
        out = np.empty((len(t), num_points, 3))
        for k, pose in enumerate(poses):
            centre, yaw = pose(t)
            c, s = np.cos(yaw), np.sin(yaw)
            pts = local[owner == k]
            x = c[:, None] * pts[None, :, 0] - s[:, None] * pts[None, :, 1]
            y = s[:, None] * pts[None, :, 0] + c[:, None] * pts[None, :, 1]
            out[:, owner == k] = centre[:, None, :] + np.stack([x, y, np.broadcast_to(pts[:, 2], x.shape)], -1)
        return out

    return at


def _random_similarity(rng: np.random.Generator) -> tuple[float, np.ndarray, np.ndarray]:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    R = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    return float(rng.uniform(0.5, 2.0)), R, rng.normal(0.0, 2.0, 3)


def make_toy_rig(cfg: ToyRigConfig = ToyRigConfig()) -> ToyRig:
    rng = np.random.default_rng(cfg.seed)
    positions = _true_positions(rng, cfg.num_points, cfg.static)
    other_positions = _true_positions(rng, cfg.num_points, cfg.static)
    descriptors = rng.normal(size=(cfg.num_points, 16))
    other_descriptors = rng.normal(size=(cfg.num_points, 16))
    tracks, clocks, cameras, point_of_id = [], [], [], []
    for c in range(cfg.num_cameras):
        fps = cfg.fps[c]
        clock = ClockModel(cfg.offsets_s[c], cfg.drift_ppm[c], 0.0)
        stamps_s = cfg.t_start_s + rng.uniform(0, 1 / fps) + np.arange(int(cfg.duration_s * fps)) / fps
        capture_s = clock.capture_time(stamps_s)
        disjoint = c in cfg.disjoint_cameras
        world = (other_positions if disjoint else positions)(capture_s)  # [T, P, 3]
        yaw = 2 * np.pi * c / cfg.num_cameras + rng.uniform(-0.3, 0.3)
        eye = np.array([6.0 * np.cos(yaw), 6.0 * np.sin(yaw), 1.5])
        cam = PinholeCamera(f"cam{c}", 320, 240, intrinsics_from_fov(320, 240, 60.0), look_at(eye, np.zeros(3)))
        uv, depth = cam.project(world)
        uv = uv + rng.normal(0.0, cfg.noise_px, uv.shape)
        seen = rng.random(cfg.num_points) < cfg.visible_fraction
        in_image = (depth > 0.1) & (uv[..., 0] >= 0) & (uv[..., 0] < 320) & (uv[..., 1] >= 0) & (uv[..., 1] < 240)
        points = np.flatnonzero(seen)
        visible = in_image[:, points]
        if cfg.shared_world:
            xyz, frame = world, "world"
        else:
            s, R, t = _random_similarity(rng)
            xyz, frame = s * world @ R.T + t, f"cam{c}_anchor"
            xyz = xyz + rng.normal(0.0, cfg.noise_m * s, xyz.shape)
        if cfg.shared_world:
            xyz = xyz + rng.normal(0.0, cfg.noise_m, xyz.shape)
        ids = rng.choice(10_000, size=len(points), replace=False).astype(np.int64)
        desc = (other_descriptors if disjoint else descriptors)[points]
        desc = desc + rng.normal(0.0, cfg.descriptor_noise, desc.shape)
        tracks.append(
            TrackSet(
                camera=cam.name,
                track_ids=ids,
                stamps_ns=seconds_to_ns(stamps_s),
                uv=np.where(visible[..., None], uv[:, points], np.nan).astype(np.float32),
                visible=visible,
                xyz=np.where(visible[..., None], xyz[:, points], np.nan).astype(np.float32) if cfg.with_3d else None,
                descriptors=desc.astype(np.float32),
                confidence=np.ones(visible.shape, np.float32),
                world_frame=frame if cfg.with_3d else "",
            )
        )
        offset_ids = 0 if not disjoint else 1_000_000
        point_of_id.append({int(i): int(p) + offset_ids for i, p in zip(ids, points)})
        clocks.append(clock)
        cameras.append(cam)
    return ToyRig(tracks, clocks, cameras, point_of_id)


def test_toy_rig_clocks_follow_the_project_convention():
    rig = make_toy_rig(ToyRigConfig(num_cameras=2, drift_ppm=(0.0, 0.0)))
    assert abs(rig.pair_offset_s(0, 1) - 0.037) < 1e-9
    assert rig.tracks[1].uv.shape[0] == 150  # 25 fps * 6 s


def test_toy_rig_gt_match_is_symmetric_and_partial():
    rig = make_toy_rig(ToyRigConfig(num_cameras=2))
    fwd, back = rig.gt_match(0, 1), rig.gt_match(1, 0)
    assert {v: k for k, v in fwd.items()} == back
    assert 0 < len(fwd) < min(rig.tracks[0].num_tracks, rig.tracks[1].num_tracks)
