"""Geometric tracking backend: points moved frame to frame from an anchor, lifted with depth.

Each query point of the anchor is moved into the next frame by the point motion estimator
(:mod:`s4_core.tracking.flow`: pyramidal Lucas-Kanade by default, or dense flow sampled at
sub-pixel positions), and so on, chaining consecutive frames. The backward motion must bring it
back to where it came from (forward-backward consistency); when it does not, the point was
occluded or its motion is wrong, and the track is lost for good, because a chained track cannot
tell the true point from a look-alike once it has lost it. Points that leave the image are
lost, and so are points whose depth jumps (an occluder moved over them).

Motion for a pair of consecutive frames is computed once: the backend memoizes the chain of
its current anchor, so the streaming tracker can ask for the same anchor with one more frame at
O(1) cost per new frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from s4_core.arrays import finite_points
from s4_core.frames import Frame
from s4_core.tracking.descriptors import appearance_descriptors, motion_descriptors
from s4_core.tracking.flow import FlowConfig, PointFlow, to_gray
from s4_core.tracking.lifting import lift_to_world, sample_depth_m, valid_depth_mask
from s4_core.tracking.patches import sample_patches, zero_mean_ncc
from s4_core.tracking.queries import QueryConfig, select_query_points
from s4_core.tracks import TrackSet

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class GeometricConfig:
    """Hyperparameters of the geometric backend.

    Attributes:
        flow: how points are moved between consecutive frames.
        fb_threshold_px: largest forward-backward round-trip error of a visible point, pixels.
        max_depth_step_rel: largest relative depth difference between the four neighbours of
            a depth sample before it is treated as an occlusion edge and rejected.
        min_anchor_ncc: smallest zero-mean normalized correlation between a track's patch now
            and at its anchor; below it the track has slid off its point and is lost.
        patch_radius_px: half-size of the patches compared, pixels.
        queries: how query points are seeded when the caller gives none.
        appearance_radius_px: half-size of the appearance descriptor window, pixels.
        world_frame: name of the frame of ``PinholeCamera.world_from_camera``, given to 3D tracks.
    """

    flow: FlowConfig = field(default_factory=FlowConfig)
    fb_threshold_px: float = 1.0
    max_depth_step_rel: float = 0.05
    max_depth_jump_rel: float = 0.1
    min_anchor_ncc: float = 0.3
    patch_radius_px: int = 3
    queries: QueryConfig = field(default_factory=QueryConfig)
    appearance_radius_px: int = 3
    world_frame: str = "world"

    def __post_init__(self) -> None:
        if min(self.fb_threshold_px, self.max_depth_step_rel, self.max_depth_jump_rel) <= 0:
            raise ValueError(f"thresholds must be positive: {self}")


class _Chain:
    """Tracks of one anchor's queries, extended one frame at a time (mutable memo)."""

    def __init__(
        self, anchor: Frame, requested_uv: np.ndarray | None, query_uv: np.ndarray, lifts_3d: bool, appearance: np.ndarray
    ) -> None:
        n = len(query_uv)
        self.requested_uv = None if requested_uv is None else requested_uv.copy()
        self.camera = anchor.camera
        self.size_hw = anchor.size_hw
        self.query_uv = query_uv
        self.lifts_3d = lifts_3d
        self.stamps_ns: list[int] = [anchor.stamp_ns]
        self.uv: list[np.ndarray] = [query_uv.copy()]
        self.fb_error_px: list[np.ndarray] = [np.zeros(n, np.float32)]
        self.alive = np.ones(n, dtype=bool)
        self.xyz: list[np.ndarray] = []
        self.last_gray = to_gray(anchor.rgb)
        self.anchor_patches = np.zeros((n, 0), np.float32)
        self.appearance = appearance
        self.last_depth_m = np.full(n, np.nan)  # latest valid depth of each track, metres
        self.frames_since_depth = np.zeros(n, dtype=np.int64)

    def extends(self, frames: Sequence[Frame], query_uv: np.ndarray | None) -> bool:
        """Whether ``frames`` start with this chain's frames (or a prefix of them)."""
        if frames[0].camera != self.camera or frames[0].size_hw != self.size_hw:
            return False
        if (query_uv is None) != (self.requested_uv is None):
            return False
        if query_uv is not None and not np.array_equal(query_uv, self.requested_uv):
            return False
        common = min(len(frames), len(self.stamps_ns))
        return all(f.stamp_ns == s for f, s in zip(frames[:common], self.stamps_ns[:common]))


class GeometricBackend:
    """Flow + depth tracker implementing :class:`~s4_core.tracking.backend.TrackerBackend`."""

    def __init__(self, config: GeometricConfig | None = None) -> None:
        self.config = config or GeometricConfig()
        self._flow = PointFlow(self.config.flow)
        self._chain: _Chain | None = None
        self._warned_no_model = False

    def reset(self) -> None:
        """Forget the memoized chain and the warnings already given."""
        self._chain = None
        self._warned_no_model = False

    def track_window(self, frames: Sequence[Frame], query_uv: np.ndarray | None = None) -> TrackSet:
        """Tracks of the anchor ``frames[0]``'s query points over ``frames``.

        3D is produced when the anchor has both depth and a camera model; depth without a model
        gives 2D tracks and a warning.

        Args:
            frames: anchor first, strictly increasing stamps, one camera and image size.
            query_uv: [N, 2] anchor positions to track; None seeds a textured grid.

        Returns:
            TrackSet with local ids ``arange(N)``; uv NaN and visible False once a track is lost;
            xyz NaN (and visible False) where depth is missing or invalid.
        """
        _check_window(frames)
        if query_uv is not None and (query_uv.ndim != 2 or query_uv.shape[1] != 2):
            raise ValueError(f"query_uv must be [N, 2], got {query_uv.shape}")
        if self._chain is None or not self._chain.extends(frames, query_uv):
            self._chain = self._start_chain(frames[0], query_uv)
        chain = self._chain
        for frame in frames[len(chain.stamps_ns) :]:
            self._advance(chain, frame)
        return self._window_result(chain, frames)

    def _start_chain(self, anchor: Frame, requested_uv: np.ndarray | None) -> _Chain:
        lifts_3d = anchor.depth_m is not None and anchor.model is not None
        if anchor.depth_m is not None and anchor.model is None and not self._warned_no_model:
            _LOG.warning("camera %s gives depth but no camera model: tracking in 2D only", anchor.camera)
            self._warned_no_model = True
        if requested_uv is None:
            usable = valid_depth_mask(anchor.depth_m) if lifts_3d else None
            query_uv = select_query_points(to_gray(anchor.rgb), self.config.queries, usable)
        else:
            query_uv = np.asarray(requested_uv, dtype=np.float32)
        appearance = appearance_descriptors(anchor.rgb, query_uv, self.config.appearance_radius_px)
        chain = _Chain(anchor, requested_uv, query_uv, lifts_3d, appearance)
        chain.anchor_patches = sample_patches(chain.last_gray, query_uv, self.config.patch_radius_px)
        if lifts_3d:
            chain.last_depth_m = self._depth_at(anchor, query_uv)
            chain.xyz.append(self._lift(anchor, query_uv, chain.last_depth_m))
        return chain

    def _advance(self, chain: _Chain, frame: Frame) -> None:
        """Move the live points of ``chain`` into ``frame``; lost points stay lost."""
        gray = to_gray(frame.rgb)
        prev = chain.uv[-1]
        live = np.flatnonzero(chain.alive)
        last_step_px = np.linalg.norm(prev - chain.uv[-2], axis=1) if len(chain.uv) > 1 else None  # NaN: new or lost
        motion = self._flow.track(chain.last_gray, gray, prev[live], None if last_step_px is None else last_step_px[live])
        moved = np.full(prev.shape, np.nan, dtype=np.float32)
        fb_error = np.full(len(prev), np.nan)
        moved[live] = motion.moved
        fb_error[live] = motion.round_trip_error_px(prev[live])
        h, w = frame.size_hw
        with np.errstate(invalid="ignore"):
            inside = (moved[:, 0] >= 0) & (moved[:, 0] <= w - 1) & (moved[:, 1] >= 0) & (moved[:, 1] <= h - 1)
            chain.alive &= inside & (fb_error <= self.config.fb_threshold_px)
        chain.alive &= self._still_on_its_point(chain, gray, moved)
        if chain.lifts_3d:
            depth = self._depth_at(frame, moved)
            chain.alive &= ~self._depth_jumped(chain, depth)
            depth[~chain.alive] = np.nan
            chain.xyz.append(self._lift(frame, moved, depth))
        chain.uv.append(np.where(chain.alive[:, None], moved, np.nan).astype(np.float32))
        chain.fb_error_px.append(np.where(chain.alive, fb_error, np.nan).astype(np.float32))
        chain.stamps_ns.append(frame.stamp_ns)
        chain.last_gray = gray

    def _still_on_its_point(self, chain: _Chain, gray: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """Tracks [N] whose patch still correlates with their anchor patch (lost ones: False)."""
        live = np.flatnonzero(chain.alive)
        ncc = zero_mean_ncc(chain.anchor_patches[live], sample_patches(gray, moved[live], self.config.patch_radius_px))
        keep = np.zeros(len(moved), dtype=bool)
        with np.errstate(invalid="ignore"):
            keep[live] = ncc >= self.config.min_anchor_ncc
        return keep

    def _depth_jumped(self, chain: _Chain, depth_m: np.ndarray) -> np.ndarray:
        """Tracks [N] whose depth changed too fast since their last valid depth (occlusion).

        Forward-backward flow misses an occluder that drags the occluded point along (both
        flows then follow the occluder consistently); the depth of that point jumps instead.
        """
        chain.frames_since_depth += 1
        with np.errstate(invalid="ignore"):
            change = np.abs(depth_m - chain.last_depth_m) / chain.last_depth_m
            jumped = change > self.config.max_depth_jump_rel * chain.frames_since_depth
        known = np.isfinite(depth_m)
        chain.last_depth_m = np.where(known, depth_m, chain.last_depth_m)
        chain.frames_since_depth[known] = 0
        return jumped

    def _depth_at(self, frame: Frame, uv: np.ndarray) -> np.ndarray:
        """Trusted depth [N] at ``uv``; NaN where the frame has no usable depth or model."""
        if frame.depth_m is None or frame.model is None:
            return np.full(len(uv), np.nan)
        return sample_depth_m(frame.depth_m, uv, self.config.max_depth_step_rel)

    def _lift(self, frame: Frame, uv: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
        """World points [N, 3] float32; NaN where ``depth_m`` is NaN."""
        if frame.model is None:
            return np.full((len(uv), 3), np.nan, dtype=np.float32)
        return lift_to_world(frame.model, uv, depth_m).astype(np.float32)

    def _window_result(self, chain: _Chain, frames: Sequence[Frame]) -> TrackSet:
        t = len(frames)
        uv = np.stack(chain.uv[:t])
        visible = np.isfinite(uv[..., 0])
        xyz = np.stack(chain.xyz[:t]) if chain.lifts_3d else None
        if xyz is not None:
            visible &= finite_points(xyz)
        fb_error = np.nan_to_num(np.stack(chain.fb_error_px[:t]), nan=np.inf)
        confidence = np.where(visible, np.clip(1.0 - fb_error / self.config.fb_threshold_px, 0.0, 1.0), 0.0)
        stamps_ns = np.asarray(chain.stamps_ns[:t], dtype=np.int64)
        times_s = (stamps_ns - stamps_ns[0]) * 1e-9
        motion = motion_descriptors(uv if xyz is None else xyz, visible, times_s)
        descriptors = np.concatenate([chain.appearance, motion], axis=1)
        return TrackSet(
            camera=chain.camera,
            track_ids=np.arange(len(chain.query_uv), dtype=np.int64),
            stamps_ns=stamps_ns,
            uv=uv,
            visible=visible,
            xyz=xyz,
            descriptors=descriptors,
            confidence=confidence.astype(np.float32),
            world_frame=self.config.world_frame if xyz is not None else "",
        )


def _check_window(frames: Sequence[Frame]) -> None:
    """Raise ValueError unless ``frames`` is a non-empty single-camera, single-size sequence."""
    if len(frames) == 0:
        raise ValueError("track_window needs at least the anchor frame")
    anchor = frames[0]
    for prev, frame in zip(frames, frames[1:]):
        if frame.camera != anchor.camera or frame.size_hw != anchor.size_hw:
            raise ValueError(
                f"window mixes {anchor.camera} {anchor.size_hw} with {frame.camera} {frame.size_hw}"
            )
        if frame.stamp_ns <= prev.stamp_ns:
            raise ValueError(f"stamps must increase: {prev.stamp_ns} then {frame.stamp_ns}")
