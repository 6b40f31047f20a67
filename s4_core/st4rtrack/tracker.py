"""St4RTrack pointmaps -> :class:`s4_core.tracks.TrackSet`, with re-anchoring and stitching.

A window of one camera's frames is cut into segments on a keyframe schedule: each segment
[a, b] is anchored at frame a and shares its last frame b with the next segment. In a segment
the tracks are the anchor's pixels on a grid; head 1 gives their 3D positions at every frame
(anchor camera coordinates), projected to pixels with the anchor focal length (from the
pointmap, or the given calibration) and each frame's pose (PnP on head 2, or identity for a
static camera). Segments are joined in two ways:

* ids: a new anchor query continues the previous track landing within a few pixels of it;
* coordinates: head 2 of the old segment and head 1 of the new one both see the shared
  frame's pixels, so a similarity fit maps the new anchor frame (and its own monocular scale)
  into the first anchor's frame, the TrackSet's ``world_frame``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from s4_core.camera import PinholeCamera
from s4_core.frames import Frame
from s4_core.st4rtrack.geometry import (
    frame_poses_from_reconstruction,
    intrinsics_from_pointmap,
    project_points,
    transform_points,
    umeyama_similarity,
)
from s4_core.st4rtrack.inference import PairPredictor, WindowPointmaps
from s4_core.st4rtrack.track_features import (
    anchor_query_grid,
    appearance_descriptors,
    motion_descriptors,
    normalized_confidence,
    relative_confidence_mask,
    stitch_track_ids,
)
from s4_core.tracks import TrackSet

@dataclass(frozen=True)
class TrackerConfig:
    """Hyperparameters of :class:`St4RTrackTracker`.

    Attributes:
        grid_stride_px: spacing of anchor query points, network-input pixels.
        keyframe_interval: frames from one anchor to the next (>= 1).
        visibility_rel_conf: visible when head-1 confidence >= this x the pair's median.
        stitch_radius_px: largest pixel distance (original image) for a track to continue.
        estimate_camera_motion: solve each frame's pose from head 2 (False: static camera).
        pose_pixel_stride: subsampling of head-2 pixels used by the pose solve.
        motion_feature_weight: weight of the 3 motion statistics appended to descriptors.
    """

    grid_stride_px: int = 16
    keyframe_interval: int = 8
    visibility_rel_conf: float = 0.5
    stitch_radius_px: float = 4.0
    estimate_camera_motion: bool = True
    pose_pixel_stride: int = 4
    motion_feature_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.grid_stride_px < 1 or self.keyframe_interval < 1 or self.pose_pixel_stride < 1:
            raise ValueError("grid_stride_px, keyframe_interval and pose_pixel_stride must be >= 1")


@dataclass(frozen=True)
class _Segment:
    """Tracks of one anchor over frames [a, b] (internal; arrays in float64 torch)."""

    uv: Tensor  # [t, n, 2] original pixels
    xyz: Tensor  # [t, n, 3] segment anchor frame
    visible: Tensor  # [t, n]
    confidence: Tensor  # [t, n] in [0, 1]
    descriptors: Tensor  # [n, D]
    maps: WindowPointmaps


class St4RTrackTracker:
    """Streams of frames -> TrackSets with St4RTrack (or any :class:`PairPredictor`).

    State: the next free track id and the last TrackSet, so that a window starting at a frame
    of the previous one continues its track ids.

    Args:
        predictor: pointmap source, e.g. ``St4RTrackPredictor(load_st4rtrack(path), "cuda")``.
        config: tracking hyperparameters.
        camera_model: calibration of the camera (its K is used instead of the estimated focal).
    """

    def __init__(
        self, predictor: PairPredictor, config: TrackerConfig = TrackerConfig(), camera_model: PinholeCamera | None = None
    ) -> None:
        self.predictor = predictor
        self.config = config
        self.camera_model = camera_model
        self.reset()

    def reset(self) -> None:
        """Forget track ids and the previous window."""
        self._next_id = 0
        self._last: TrackSet | None = None

    def track_window(self, frames: Sequence[Frame]) -> TrackSet:
        """Tracks of one camera over ``frames`` (anchored at frames[0], re-anchored on schedule).

        Raises:
            ValueError: empty window, mixed cameras or image sizes, non-increasing stamps.
        """
        _check_window(frames)
        bounds = keyframe_segments(len(frames), self.config.keyframe_interval)
        segments = [self._track_segment(frames[a : b + 1]) for a, b in bounds]
        world_from_segment = [torch.eye(4, dtype=torch.float64)]
        segment_ids = [self._assign_ids(self._ids_from_last(frames[0], segments[0]))]
        for previous, current in zip(segments, segments[1:]):
            world_from_segment.append(world_from_segment[-1] @ _anchor_similarity(previous.maps, current.maps))
            continued = stitch_track_ids(
                previous.uv[-1], segment_ids[-1], previous.visible[-1], current.uv[0], self.config.stitch_radius_px
            )
            segment_ids.append(self._assign_ids(continued))
        tracks = _assemble(frames, bounds, segments, segment_ids, world_from_segment)
        self._last = tracks
        return tracks

    def _track_segment(self, frames: Sequence[Frame]) -> _Segment:
        maps = self.predictor.predict(frames[0].rgb, [frame.rgb for frame in frames])
        crop = maps.crop
        query = anchor_query_grid(crop.input_size_wh, self.config.grid_stride_px)  # [N, 2] input px
        xyz = maps.pts_track[:, query[:, 1], query[:, 0]].to(torch.float64)  # [T, N, 3]
        conf = maps.conf_track[:, query[:, 1], query[:, 0]]
        K = self._intrinsics(maps)
        poses = self._camera_poses(maps, K)
        uv, depth = project_points(transform_points(xyz, poses), K)
        uv[0] = torch.from_numpy(crop.to_original(query.numpy()))  # the queries themselves
        width, height = crop.original_size_wh
        inside = (uv[..., 0] > -0.5) & (uv[..., 0] < width - 0.5) & (uv[..., 1] > -0.5) & (uv[..., 1] < height - 0.5)
        visible = relative_confidence_mask(conf, maps.conf_track, self.config.visibility_rel_conf) & inside & (depth > 0)
        descriptors = torch.cat(
            (
                appearance_descriptors(maps.anchor_tokens, query, crop.input_size_wh).double(),
                self.config.motion_feature_weight * motion_descriptors(xyz, uv, crop.original_size_wh),
            ),
            dim=-1,
        )
        return _Segment(uv, xyz, visible, normalized_confidence(conf).double(), descriptors, maps)

    def _intrinsics(self, maps: WindowPointmaps) -> Tensor:
        """K [3, 3] of the original image: calibration, or focal from the anchor's own pointmap."""
        if self.camera_model is not None:
            return torch.as_tensor(self.camera_model.K, dtype=torch.float64)
        K_input = intrinsics_from_pointmap(maps.pts_track[0])
        return torch.from_numpy(maps.crop.intrinsics_to_original(K_input.numpy()))

    def _camera_poses(self, maps: WindowPointmaps, K: Tensor) -> Tensor:
        """camera_from_anchor [T, 4, 4] per frame (identity for the anchor or a static camera)."""
        if not self.config.estimate_camera_motion:
            return torch.eye(4, dtype=torch.float64).repeat(maps.num_frames, 1, 1)
        return frame_poses_from_reconstruction(
            maps.pts_recon, maps.conf_recon, K, self.config.pose_pixel_stride, maps.crop.to_original
        )

    def _ids_from_last(self, anchor: Frame, segment: _Segment) -> Tensor:
        """Continue ids of the previous window when it contains this window's anchor frame."""
        none = torch.full((segment.uv.shape[1],), -1, dtype=torch.int64)
        if self._last is None or anchor.stamp_ns not in self._last.stamps_ns:
            return none
        t = int(np.flatnonzero(self._last.stamps_ns == anchor.stamp_ns)[0])
        return stitch_track_ids(
            torch.from_numpy(self._last.uv[t]).double(),
            torch.from_numpy(self._last.track_ids),
            torch.from_numpy(self._last.visible[t]),
            segment.uv[0],
            self.config.stitch_radius_px,
        )

    def _assign_ids(self, ids: Tensor) -> Tensor:
        fresh = ids < 0
        ids = ids.clone()
        ids[fresh] = torch.arange(self._next_id, self._next_id + int(fresh.sum()))
        self._next_id += int(fresh.sum())
        return ids


def keyframe_segments(num_frames: int, interval: int) -> list[tuple[int, int]]:
    """Inclusive [anchor, end] frame ranges; consecutive segments share their boundary frame."""
    anchors = list(range(0, max(num_frames - 1, 1), interval))
    ends = anchors[1:] + [num_frames - 1]
    return list(zip(anchors, ends))


def _anchor_similarity(previous: WindowPointmaps, current: WindowPointmaps) -> Tensor:
    """previous_anchor_from_current_anchor [4, 4] from the shared frame's two pointmaps."""
    source = current.pts_track[0].reshape(-1, 3)
    target = previous.pts_recon[-1].reshape(-1, 3)
    weights = (current.conf_track[0] * previous.conf_recon[-1]).reshape(-1)
    valid = torch.isfinite(source).all(-1) & torch.isfinite(target).all(-1)
    return umeyama_similarity(source[valid], target[valid], weights[valid])


def _assemble(
    frames: Sequence[Frame],
    bounds: list[tuple[int, int]],
    segments: list[_Segment],
    segment_ids: list[Tensor],
    world_from_segment: list[Tensor],
) -> TrackSet:
    """One TrackSet over the window; at shared keyframes the earlier segment's values win."""
    all_ids = torch.unique(torch.cat(segment_ids), sorted=True)
    num_frames, num_tracks = len(frames), len(all_ids)
    uv = np.full((num_frames, num_tracks, 2), np.nan, np.float32)
    xyz = np.full((num_frames, num_tracks, 3), np.nan, np.float32)
    visible = np.zeros((num_frames, num_tracks), bool)
    confidence = np.zeros((num_frames, num_tracks), np.float32)
    descriptors = np.zeros((num_tracks, segments[0].descriptors.shape[1]), np.float32)
    for (start, end), segment, ids, world in reversed(list(zip(bounds, segments, segment_ids, world_from_segment))):
        columns = torch.searchsorted(all_ids, ids).numpy()
        rows = slice(start, end + 1)
        uv[rows, columns] = segment.uv.numpy()
        xyz[rows, columns] = transform_points(segment.xyz, world).numpy()
        visible[rows, columns] = segment.visible.numpy()
        confidence[rows, columns] = segment.confidence.numpy()
        descriptors[columns] = segment.descriptors.numpy()
    return TrackSet(
        camera=frames[0].camera,
        track_ids=all_ids.numpy().astype(np.int64),
        stamps_ns=np.array([frame.stamp_ns for frame in frames], np.int64),
        uv=uv,
        visible=visible,
        xyz=xyz,
        descriptors=descriptors,
        confidence=confidence,
        world_frame=f"{frames[0].camera}_anchor",
    )


def _check_window(frames: Sequence[Frame]) -> None:
    if not frames:
        raise ValueError("a window needs at least one frame")
    if any(frame.camera != frames[0].camera for frame in frames):
        raise ValueError("all frames of a window must come from one camera")
    if any(frame.rgb.shape != frames[0].rgb.shape for frame in frames):
        raise ValueError("all frames of a window must have the same image size")
    stamps = [frame.stamp_ns for frame in frames]
    if any(b <= a for a, b in zip(stamps, stamps[1:])):
        raise ValueError("frame stamps must be strictly increasing")
