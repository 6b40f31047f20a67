"""St4RTrack as a :class:`~s4_core.tracking.backend.TrackerBackend` of the streaming tracker.

For the anchor ``frames[0]`` and each frame j, head 1 gives where the anchor's pixels are at
time j, in the anchor camera's coordinates. The backend samples it bilinearly at the query
pixels, projects with the intrinsics (the frame's calibration, else the focal estimated from
the anchor's own pointmap) and the frame's pose (identity for a static camera, else PnP on
head 2), and reads visibility off head 1's confidence.

3D positions need one scale for every anchor of a stream, since the streaming tracker lays
segments of successive anchors side by side: with depth the pointmap is scaled to metres by the
median depth ratio at the queries (St4RTrack's evaluation alignment) and, with a calibrated
camera, put in the rig's world frame; without depth it is scaled to a median query depth of 1
in the camera's optical frame (steady for a fixed camera watching a mostly static scene).

Pair predictions depend only on (anchor, frame j), so the backend memoizes them for its current
anchor: the streaming tracker's repeated calls with one more frame cost one network pair each.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from s4_core.frames import Frame
from s4_core.st4rtrack.checkpoint import load_st4rtrack
from s4_core.st4rtrack.geometry import frame_poses_from_reconstruction, intrinsics_from_pointmap, project_points, transform_points
from s4_core.st4rtrack.inference import PairPredictor, St4RTrackPredictor, WindowPointmaps
from s4_core.st4rtrack.track_features import anchor_query_grid, normalized_confidence, relative_confidence_mask
from s4_core.st4rtrack.tta import sample_pixels
from s4_core.tracking.descriptors import appearance_descriptors, motion_descriptors
from s4_core.tracking.lifting import sample_depth_m
from s4_core.tracks import TrackSet

log = logging.getLogger(__name__)

#: The St4RTrack weights shipped with s4 (trained on synthetic scenes, see weights/README.md).
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "st4rtrack_small_synth.safetensors"


@dataclass(frozen=True)
class BackendConfig:
    """Hyperparameters of :class:`St4RTrackBackend`.

    Attributes:
        grid_stride_px: spacing of the default queries, network-input pixels.
        visibility_rel_conf: visible when head-1 confidence >= this x the pair's median.
        estimate_camera_motion: solve each frame's pose from head 2 (False: static camera).
        pose_pixel_stride: subsampling of head-2 pixels used by the pose solve.
        appearance_radius_px: half-size of the appearance descriptor window, pixels.
        world_frame: name of the frame of ``PinholeCamera.world_from_camera``.
    """

    grid_stride_px: int = 8
    visibility_rel_conf: float = 0.5
    estimate_camera_motion: bool = False
    pose_pixel_stride: int = 4
    appearance_radius_px: int = 3
    world_frame: str = "world"

    def __post_init__(self) -> None:
        if self.grid_stride_px < 1 or self.pose_pixel_stride < 1 or self.visibility_rel_conf < 0:
            raise ValueError(f"invalid St4RTrack backend config {self}")


class _AnchorMemo:
    """Pair pointmaps of one anchor, frame by frame (stamps identify the frames)."""

    def __init__(self, anchor: Frame) -> None:
        self.camera, self.anchor_stamp_ns = anchor.camera, anchor.stamp_ns
        self.stamps_ns: list[int] = []
        self.maps: WindowPointmaps | None = None

    def serves(self, frames: Sequence[Frame]) -> bool:
        if frames[0].camera != self.camera or frames[0].stamp_ns != self.anchor_stamp_ns:
            return False
        common = min(len(frames), len(self.stamps_ns))
        return all(f.stamp_ns == s for f, s in zip(frames[:common], self.stamps_ns[:common]))

    def extend(self, predictor: PairPredictor, frames: Sequence[Frame]) -> WindowPointmaps:
        """Pointmaps of every frame of ``frames``, predicting only the frames not seen yet."""
        new = frames[len(self.stamps_ns) :]
        if new:
            fresh = predictor.predict(frames[0].rgb, [frame.rgb for frame in new])
            self.maps = fresh if self.maps is None else _concat(self.maps, fresh)
            self.stamps_ns.extend(frame.stamp_ns for frame in new)
        return _head(self.maps, len(frames))


class St4RTrackBackend:
    """Tracker backend on St4RTrack pointmaps (any :class:`PairPredictor`).

    Args:
        predictor: pointmap source; None loads the shipped weights (:data:`DEFAULT_WEIGHTS`).
        config: tracking hyperparameters.
        device: where the default model runs (ignored when a predictor is given).
    """

    def __init__(self, predictor: PairPredictor | None = None, config: BackendConfig | None = None, device: str = "cpu") -> None:
        self.predictor = predictor if predictor is not None else default_predictor(device=device)
        self.config = config or BackendConfig()
        self._memo: _AnchorMemo | None = None

    def reset(self) -> None:
        """Forget the memoized pair predictions."""
        self._memo = None

    def track_window(self, frames: Sequence[Frame], query_uv: np.ndarray | None = None) -> TrackSet:
        """Tracks of the anchor ``frames[0]``'s queries over ``frames`` (see the module notes).

        Args:
            frames: anchor first, stamps strictly increasing, one camera and image size.
            query_uv: anchor pixels [N, 2] (original image); None uses a grid of the input.

        Returns:
            TrackSet with ids ``arange(N)``, ``uv[0] == query_uv`` exactly.
        """
        _check_window(frames)
        if self._memo is None or not self._memo.serves(frames):
            self._memo = _AnchorMemo(frames[0])
        maps = self._memo.extend(self.predictor, frames)
        crop = maps.crop
        if query_uv is None:
            query_uv = crop.to_original(anchor_query_grid(crop.input_size_wh, self.config.grid_stride_px).numpy())
        query_uv = np.asarray(query_uv, dtype=np.float64)
        if query_uv.ndim != 2 or query_uv.shape[1] != 2:
            raise ValueError(f"query_uv must be [N, 2], got {query_uv.shape}")
        query_input = torch.from_numpy(crop.to_input(query_uv))  # [N, 2] network pixels
        steps = query_input.expand(maps.num_frames, -1, -1)
        xyz = sample_pixels(maps.pts_track.double(), steps)  # [T, N, 3] anchor camera frame
        conf = sample_pixels(maps.conf_track[..., None], steps.float())[..., 0]  # [T, N]
        K = self._intrinsics(frames[0], maps)
        poses = self._camera_poses(maps, K)
        uv, depth = project_points(transform_points(xyz, poses), K)
        uv[0] = torch.from_numpy(query_uv)  # the queries themselves, exactly
        visible = relative_confidence_mask(conf, maps.conf_track, self.config.visibility_rel_conf)
        visible &= _inside(uv, frames[0].size_hw) & (depth > 0) & _inside(query_input[None], crop.input_size_wh[::-1])
        xyz_out, world_frame = self._stream_coordinates(frames[0], query_uv, xyz)
        visible_np = visible.numpy()
        uv_np = np.where(visible_np[..., None], uv.numpy(), np.nan).astype(np.float32)
        uv_np[0] = query_uv
        stamps_ns = np.array([frame.stamp_ns for frame in frames], np.int64)
        descriptors = np.concatenate(
            [
                appearance_descriptors(frames[0].rgb, query_uv, self.config.appearance_radius_px),
                motion_descriptors(xyz_out, visible_np, (stamps_ns - stamps_ns[0]) * 1e-9),
            ],
            axis=1,
        )
        return TrackSet(
            camera=frames[0].camera,
            track_ids=np.arange(len(query_uv), dtype=np.int64),
            stamps_ns=stamps_ns,
            uv=uv_np,
            visible=visible_np,
            xyz=xyz_out,
            descriptors=descriptors.astype(np.float32),
            confidence=np.where(visible_np, normalized_confidence(conf).numpy(), 0.0).astype(np.float32),
            world_frame=world_frame,
        )

    def _intrinsics(self, anchor: Frame, maps: WindowPointmaps) -> Tensor:
        """K [3, 3] of the original image: calibration, or focal from the anchor's own pointmap."""
        if anchor.model is not None:
            return torch.as_tensor(anchor.model.K, dtype=torch.float64)
        return torch.from_numpy(maps.crop.intrinsics_to_original(intrinsics_from_pointmap(maps.pts_track[0]).numpy()))

    def _camera_poses(self, maps: WindowPointmaps, K: Tensor) -> Tensor:
        """camera_j_from_anchor [T, 4, 4] (identity for a static camera)."""
        if not self.config.estimate_camera_motion:
            return torch.eye(4, dtype=torch.float64).repeat(maps.num_frames, 1, 1)
        return frame_poses_from_reconstruction(
            maps.pts_recon, maps.conf_recon, K, self.config.pose_pixel_stride, maps.crop.to_original
        )

    def _stream_coordinates(self, anchor: Frame, query_uv: np.ndarray, xyz: Tensor) -> tuple[np.ndarray, str]:
        """Anchor-camera points [T, N, 3] in the stream's frame and scale (module notes)."""
        predicted_z = xyz[0, :, 2].numpy()
        scale, frame_name = 1.0, f"{anchor.camera}_optical"
        if anchor.depth_m is not None:
            measured_z = sample_depth_m(anchor.depth_m, query_uv.astype(np.float32), max_relative_step=0.05)
            ratio = measured_z / predicted_z
            ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
            if len(ratio):
                scale = float(np.median(ratio))
        else:
            positive = predicted_z[np.isfinite(predicted_z) & (predicted_z > 0)]
            scale = 1.0 / float(np.median(positive)) if len(positive) else 1.0
        points = xyz.numpy() * scale
        if anchor.depth_m is not None and anchor.model is not None:
            points, frame_name = anchor.model.camera_to_world(points), self.config.world_frame
        return points.astype(np.float32), frame_name


def default_predictor(path: str | Path | None = None, device: str = "cpu") -> St4RTrackPredictor:
    """A predictor on the given checkpoint, or on the shipped synthetic-scene weights."""
    return St4RTrackPredictor(load_st4rtrack(path or DEFAULT_WEIGHTS, device=device), device=device)


def _concat(a: WindowPointmaps, b: WindowPointmaps) -> WindowPointmaps:
    return WindowPointmaps(
        pts_track=torch.cat((a.pts_track, b.pts_track)),
        conf_track=torch.cat((a.conf_track, b.conf_track)),
        pts_recon=torch.cat((a.pts_recon, b.pts_recon)),
        conf_recon=torch.cat((a.conf_recon, b.conf_recon)),
        anchor_tokens=a.anchor_tokens,
        crop=a.crop,
    )


def _head(maps: WindowPointmaps, count: int) -> WindowPointmaps:
    """The first ``count`` frames of ``maps``."""
    return WindowPointmaps(
        maps.pts_track[:count],
        maps.conf_track[:count],
        maps.pts_recon[:count],
        maps.conf_recon[:count],
        maps.anchor_tokens,
        maps.crop,
    )


def _inside(uv: Tensor, size_hw: tuple[int, int]) -> Tensor:
    """Pixels [..., 2] inside an image of ``size_hw`` (pixel edges at -0.5 and size - 0.5)."""
    height, width = size_hw
    return (uv[..., 0] > -0.5) & (uv[..., 0] < width - 0.5) & (uv[..., 1] > -0.5) & (uv[..., 1] < height - 0.5)


def _check_window(frames: Sequence[Frame]) -> None:
    if not frames:
        raise ValueError("track_window needs at least the anchor frame")
    for prev, frame in zip(frames, frames[1:]):
        if frame.camera != frames[0].camera or frame.size_hw != frames[0].size_hw:
            raise ValueError(f"window mixes {frames[0].camera} {frames[0].size_hw} with {frame.camera} {frame.size_hw}")
        if frame.stamp_ns <= prev.stamp_ns:
            raise ValueError(f"stamps must increase: {prev.stamp_ns} then {frame.stamp_ns}")
