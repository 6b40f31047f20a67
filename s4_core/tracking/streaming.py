"""Streaming per-camera tracker: frames in one at a time, the current window's tracks out.

The tracker keeps a sliding window of accepted frames, anchors the backend on a keyframe every
``keyframe_interval_frames`` frames and continues the live tracks' ids across anchors
(:mod:`s4_core.tracking.stitching`). Per pushed frame it only stores the frame; the backend does
the work for the new frame when tracks are asked for (the geometric backend memoizes its chain,
so that is one flow pair per new frame whatever the window length). Only the frames since the
current anchor are kept; older anchors survive as finished segments until they leave the window.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from s4_core.frames import Frame
from s4_core.tracking.backend import TrackerBackend
from s4_core.tracking.descriptors import NUM_APPEARANCE, appearance_descriptors
from s4_core.tracking.flow import to_gray
from s4_core.tracking.geometric import GeometricBackend
from s4_core.tracking.input_gate import FrameGate, FrameVerdict, StreamHealth
from s4_core.tracking.lifting import valid_depth_mask
from s4_core.tracking.queries import QueryConfig, select_query_points
from s4_core.tracking.stitching import NEW_TRACK, stitch_queries
from s4_core.tracking.window_assembly import Segment, assemble_window
from s4_core.tracks import TrackSet

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamingConfig:
    """Window, keyframe and stitching settings of a stream.

    Attributes:
        window_frames: most frames in the window; None for no frame limit.
        window_s: longest time span of the window, seconds (by the camera's stamps); None for
            no time limit. With both None the window grows without bound (offline clips).
        keyframe_interval_frames: accepted frames between two anchors; bounds the work and the
            memory of the live segment.
        stitch_radius_px: a new-anchor point within this distance of a live track is that track.
        queries: how fresh query points are seeded at an anchor; a fresh point is added only
            farther than ``grid_step_px / sqrt(2)`` from every live track (the farthest any
            point can be from a shifted full grid), so the track count stays bounded.
        min_valid_steps: tracks with fewer consecutive valid frame pairs in the window are not
            handed out.
        appearance_radius_px: half-size of the appearance descriptor window, pixels.
    """

    window_frames: int | None = 30
    window_s: float | None = None
    keyframe_interval_frames: int = 10
    stitch_radius_px: float = 1.0
    queries: QueryConfig = field(default_factory=QueryConfig)
    min_valid_steps: int = 1
    appearance_radius_px: int = 3

    def __post_init__(self) -> None:
        if self.keyframe_interval_frames < 1 or self.min_valid_steps < 0 or self.stitch_radius_px <= 0:
            raise ValueError(f"invalid streaming config {self}")
        if self.window_frames is not None and self.window_frames < 2:
            raise ValueError(f"window_frames must be at least 2, got {self.window_frames}")
        if self.window_s is not None and self.window_s <= 0:
            raise ValueError(f"window_s must be positive, got {self.window_s}")


@dataclass(frozen=True)
class WindowParts:
    """A window's segments and frame stamps, ready to be joined into one TrackSet.

    Joining is most of the cost of a window's tracks (dense [frames, tracks] arrays over the
    whole window): a live caller hands the parts to the thread that will use the tracks.
    """

    camera: str
    stamps_ns: np.ndarray
    segments: list[Segment]
    min_valid_steps: int

    def assemble(self) -> TrackSet:
        """The window's TrackSet."""
        return assemble_window(self.camera, self.stamps_ns, self.segments, self.min_valid_steps)


class StreamingTracker:
    """Tracks one camera stream over a sliding window.

    Example:
        tracker = StreamingTracker("cam0")
        for frame in frames:
            tracker.push(frame)
        tracks = tracker.window_tracks()
    """

    def __init__(self, camera: str, backend: TrackerBackend | None = None, config: StreamingConfig | None = None) -> None:
        self.camera = camera
        self.config = config or StreamingConfig()
        self.backend = backend if backend is not None else GeometricBackend()
        self._gate = FrameGate(camera)
        self._next_id = 0  # ids are never reused, not even across resets
        self.reset()

    def reset(self) -> None:
        """Drop the window and all tracks; the next accepted frame starts a new stream."""
        self._gate.forget_last()
        self._clear_tracks()

    def _clear_tracks(self) -> None:
        """Drop window, segments and the backend memo; keeps the gate and the id counter."""
        self.backend.reset()
        self._window_stamps_ns: list[int] = []
        self._finished: list[Segment] = []
        self._live_frames: list[Frame] = []
        self._live_queries = np.zeros((0, 2), np.float32)
        self._live_ids = np.zeros(0, np.int64)
        self._live_appearance = np.zeros((0, NUM_APPEARANCE), np.float32)

    def health(self) -> StreamHealth:
        """Counters of accepted and rejected frames, and whether the camera looks frozen."""
        return self._gate.health

    def push(self, frame: Frame) -> FrameVerdict:
        """Offer one frame; see :class:`FrameVerdict` for what can happen to it.

        Raises:
            ValueError: the frame belongs to another camera.
        """
        verdict = self._gate.admit(frame)
        if verdict is FrameVerdict.RESTARTED:
            self._clear_tracks()
        elif verdict is not FrameVerdict.ACCEPTED:
            return verdict
        self._window_stamps_ns.append(frame.stamp_ns)
        if not self._live_frames or len(self._live_frames) >= self.config.keyframe_interval_frames:
            self._reanchor(frame)
            verdict = FrameVerdict.KEYFRAME if verdict is FrameVerdict.ACCEPTED else verdict
        else:
            self._live_frames.append(frame)
        self._slide_window()
        return verdict

    def window_tracks(self) -> TrackSet:
        """The tracks over the current window (empty TrackSet before the first frame)."""
        return self.window_parts().assemble()

    def window_parts(self) -> WindowParts:
        """What :meth:`window_tracks` assembles, taken now; later pushes do not change it, so
        another thread may assemble it (the cheap part, tracking the live segment, is done here)."""
        segments = list(self._finished)
        if self._live_frames:
            segments.append(self._live_segment(self._track_live(self._live_frames)))
        return WindowParts(self.camera, np.asarray(self._window_stamps_ns, np.int64), segments, self.config.min_valid_steps)

    def _track_live(self, frames: Sequence[Frame]) -> TrackSet:
        return self.backend.track_window(frames, self._live_queries)

    def _live_segment(self, tracks: TrackSet) -> Segment:
        """The live anchor's tracks under their global ids."""
        return Segment(
            tracks=TrackSet(
                camera=tracks.camera,
                track_ids=self._live_ids,
                stamps_ns=tracks.stamps_ns,
                uv=tracks.uv,
                visible=tracks.visible,
                xyz=tracks.xyz,
                descriptors=tracks.descriptors,
                confidence=tracks.confidence,
                world_frame=tracks.world_frame,
            ),
            appearance=self._live_appearance,
        )

    def _reanchor(self, anchor: Frame) -> None:
        """Finish the live segment at ``anchor`` and start a new one there."""
        survivor_uv, survivor_ids = np.zeros((0, 2), np.float32), np.zeros(0, np.int64)
        if self._live_frames:
            tracks = self._track_live([*self._live_frames, anchor])
            last_uv = tracks.uv[-1]
            alive = np.isfinite(last_uv[:, 0])
            survivor_uv, survivor_ids = last_uv[alive], self._live_ids[alive]
            finished = self._live_segment(tracks)
            self._finished.append(Segment(tracks=_drop_last_row(finished.tracks), appearance=finished.appearance))
        queries = stitch_queries(
            survivor_uv,
            survivor_ids,
            self._fresh_queries(anchor),
            self.config.stitch_radius_px,
            self.config.queries.grid_step_px / np.sqrt(2.0),  # a shifted full grid covers every cell
        )
        fresh = queries.inherited_ids == NEW_TRACK
        ids = queries.inherited_ids.copy()
        ids[fresh] = np.arange(self._next_id, self._next_id + int(fresh.sum()))
        self._next_id += int(fresh.sum())
        self._live_frames = [anchor]
        self._live_queries = queries.uv
        self._live_ids = ids
        self._live_appearance = appearance_descriptors(anchor.rgb, queries.uv, self.config.appearance_radius_px)
        _LOG.debug("%s: anchor %d with %d tracks (%d new)", self.camera, anchor.stamp_ns, len(ids), int(fresh.sum()))

    def _fresh_queries(self, anchor: Frame) -> np.ndarray:
        usable = valid_depth_mask(anchor.depth_m) if anchor.depth_m is not None and anchor.model is not None else None
        return select_query_points(to_gray(anchor.rgb), self.config.queries, usable)

    def _slide_window(self) -> None:
        """Drop frames beyond the window and finished segments that no longer reach into it."""
        stamps = self._window_stamps_ns
        if self.config.window_frames is not None and len(stamps) > self.config.window_frames:
            del stamps[: len(stamps) - self.config.window_frames]
        if self.config.window_s is not None:
            horizon_ns = stamps[-1] - round(self.config.window_s * 1e9)
            while stamps[0] < horizon_ns:
                stamps.pop(0)
        self._finished = [s for s in self._finished if s.tracks.stamps_ns[-1] >= stamps[0]]


def _drop_last_row(tracks: TrackSet) -> TrackSet:
    """``tracks`` without its last frame (the next anchor, which the next segment covers)."""
    return TrackSet(
        camera=tracks.camera,
        track_ids=tracks.track_ids,
        stamps_ns=tracks.stamps_ns[:-1],
        uv=tracks.uv[:-1],
        visible=tracks.visible[:-1],
        xyz=None if tracks.xyz is None else tracks.xyz[:-1],
        descriptors=tracks.descriptors,
        confidence=tracks.confidence[:-1],
        world_frame=tracks.world_frame,
    )


def track_clip(frames: Sequence[Frame], backend: TrackerBackend | None = None, config: StreamingConfig | None = None) -> TrackSet:
    """Tracks of a whole recorded clip of one camera, anchors stitched, in one TrackSet.

    Bad frames are handled as in streaming (skipped or restarting, with a logged warning); after
    a restart the result covers the frames since the restart only.

    Args:
        frames: the clip, one camera.
        backend: tracking backend (geometric by default).
        config: keyframe and stitching settings; its window limits are ignored (the window is
            the whole clip).
    """
    if not frames:
        raise ValueError("track_clip needs at least one frame")
    unbounded = dataclasses.replace(config or StreamingConfig(), window_frames=None, window_s=None)
    tracker = StreamingTracker(frames[0].camera, backend, unbounded)
    for frame in frames:
        tracker.push(frame)
    return tracker.window_tracks()
