"""Ground-truth pointmaps of both St4RTrack heads, from the synthetic world.

For an anchor time ``t_a`` and a frame time ``t_j`` of camera ``i``, in the anchor camera's
optical frame (St4RTrack's world frame for the pair):

* head 1 (tracking) ``1X_j^1``: for each anchor pixel ``p``, where the material point seen
  through ``p`` at ``t_a`` is at ``t_j``;
* head 2 (reconstruction) ``1X_j^j``: for each pixel ``q`` of frame j, the point seen through
  ``q`` at ``t_j`` (lifted with the rendered depth).

Both come from the analytic ray caster, so they are exact; at ``t_j = t_a`` they coincide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s4_core.synth import SyntheticWorld


@dataclass(frozen=True)
class ClipTargets:
    """Images and ground-truth pointmaps of one clip anchored at its first frame.

    Attributes:
        rgb: noiseless images [T, H, W, 3] uint8; rgb[0] is the anchor.
        pts_track: head-1 targets, anchor camera frame, metres [T, H, W, 3].
        pts_recon: head-2 targets, anchor camera frame, metres [T, H, W, 3].
        valid_track: head-1 targets that exist (the anchor pixel sees a surface) [T, H, W].
        valid_recon: head-2 targets that exist (finite positive depth) [T, H, W].
        times_s: reference times of the frames [T].
    """

    rgb: np.ndarray
    pts_track: np.ndarray
    pts_recon: np.ndarray
    valid_track: np.ndarray
    valid_recon: np.ndarray
    times_s: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.rgb.shape[0])


def pixel_grid(width: int, height: int) -> np.ndarray:
    """Pixel centres (u, v) [H, W, 2] float64, integer coordinates (OpenCV convention)."""
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    return np.stack((u, v), axis=-1)


def clip_targets(world: SyntheticWorld, camera_index: int, times_s: np.ndarray) -> ClipTargets:
    """Render camera ``camera_index`` at ``times_s [T]`` and build both heads' targets.

    The anchor is ``times_s[0]``; the times need not increase (reversed clips are allowed).
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    if times_s.ndim != 1 or len(times_s) < 1:
        raise ValueError(f"times_s must be [T] with T >= 1, got shape {times_s.shape}")
    camera = world.cameras[camera_index]
    views = [world.render(camera_index, float(t)) for t in times_s]
    anchor_surface = views[0].surface
    grid = pixel_grid(camera.width, camera.height)
    pts_track, pts_recon, valid_recon = [], [], []
    for t_s, view in zip(times_s, views):
        # Cameras of the rig are static, but expressing through the world keeps this general.
        pts_track.append(camera.world_to_camera(world.positions(anchor_surface, float(t_s))))
        depth = view.depth_m.astype(np.float64)
        ok = np.isfinite(depth) & (depth > 0)
        pts_recon.append(camera.world_to_camera(camera.unproject(grid, np.where(ok, depth, np.nan))))
        valid_recon.append(ok)
    valid_track = np.broadcast_to(anchor_surface.valid, (len(times_s),) + anchor_surface.shape).copy()
    return ClipTargets(
        rgb=np.stack([view.rgb for view in views]),
        pts_track=np.nan_to_num(np.stack(pts_track)).astype(np.float32),
        pts_recon=np.nan_to_num(np.stack(pts_recon)).astype(np.float32),
        valid_track=valid_track & np.isfinite(np.stack(pts_track)).all(-1),
        valid_recon=np.stack(valid_recon),
        times_s=times_s,
    )
