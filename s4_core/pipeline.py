"""The streaming orchestrator: frames in, tracks, correspondences, offsets and splats out.

One object serves every front end (the all-in-one node, ``s4 sync-bag``, ``s4 demo`` and
``s4 bench``), so no front end re-implements a stage. Data flows one way:

    Frame -> StreamingTracker (per camera) -> OnlineClockSync (FGW matching, lag, sub-frame,
    pair graph, per-camera filter) -> SplatModel (frames at corrected times) -> PipelineUpdate

Estimates run on a schedule of the reference camera's clock, so the cost per frame stays bounded
and the result does not depend on how fast frames are pushed (live or from a bag).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

import numpy as np

from s4_core.arrays import finite_points
from s4_core.camera import PinholeCamera
from s4_core.clock import ClockModel, NS_PER_S
from s4_core.correspondences import Correspondences
from s4_core.frames import Frame
from s4_core.offsets import ClockOffset, SyncState
from s4_core.splat.export import GaussianSnapshot
from s4_core.splat.model import SplatModel, SplatModelConfig
from s4_core.sync.clock_filter import ClockFilterConfig
from s4_core.sync.depth_history import DepthHistory, DepthHistoryConfig
from s4_core.sync.image_history import ImageHistory, ImageHistoryConfig
from s4_core.sync.online import OnlineClockSync, OnlineSyncConfig
from s4_core.sync.window import WindowSyncConfig
from s4_core.threads import driver_thread, shared_pool, tracking_pool
from s4_core.tracking.input_gate import FrameVerdict
from s4_core.tracking.streaming import StreamingConfig, StreamingTracker, WindowParts
from s4_core.tracks import TrackSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineConfig:
    """Hyperparameters of the whole pipeline; every field has a default that works on a rig.

    Attributes:
        tracking: per-camera tracker; its window must span the largest offset to be found plus
            enough shared motion to time it (default 8 s).
        sync_window: per-window matching and timing.
        clock_filter: per-camera offset/drift filter and lock logic.
        depth_history: recent depth images kept per calibrated RGB-D camera for the sync.
        image_history: recent grey images kept per calibrated RGB-only camera for the sync.
        reestimate_period_s: reference-clock seconds between two offset estimates.
        settled_period_s: the longer period while every camera is settled; 0 turns it off
            (see :class:`~s4_core.sync.online.OnlineSyncConfig`).
        splats: the 4D Gaussian model, or None to run without it (tracks and offsets only).
        splat_camera_stride: train the splat model on every n-th frame of each camera, bounding
            its CPU cost at high frame rates.
    """

    tracking: StreamingConfig = field(
        default_factory=lambda: StreamingConfig(window_frames=None, window_s=8.0, keyframe_interval_frames=10)
    )
    sync_window: WindowSyncConfig = field(default_factory=WindowSyncConfig)
    clock_filter: ClockFilterConfig = field(default_factory=ClockFilterConfig)
    depth_history: DepthHistoryConfig = field(default_factory=DepthHistoryConfig)
    image_history: ImageHistoryConfig = field(default_factory=ImageHistoryConfig)
    reestimate_period_s: float = 2.0
    settled_period_s: float = 0.0
    splats: SplatModelConfig | None = None
    splat_camera_stride: int = 3

    def __post_init__(self) -> None:
        if self.reestimate_period_s <= 0:
            raise ValueError(f"reestimate_period_s must be positive, got {self.reestimate_period_s}")
        if self.settled_period_s < 0:
            raise ValueError(f"settled_period_s must not be negative (0 turns it off), got {self.settled_period_s}")
        if self.splat_camera_stride < 1:
            raise ValueError(f"splat_camera_stride must be at least 1, got {self.splat_camera_stride}")


@dataclass(frozen=True)
class PipelineUpdate:
    """What one offset estimate produced.

    Attributes:
        stamp_ns: reference-clock time of the estimate (newest reference frame).
        offsets: camera -> its offset estimate (the reference is locked at 0).
        tracks: camera -> its TrackSet over the window the estimate used.
        correspondences: matched tracks of the camera pairs in that window.
        splats: the Gaussians at ``stamp_ns``, or None while the splat model is off or not ready.
        scaffold_paths: world positions [Nn, S, 3] of every scaffold node sampled along its
            spline over the model's window, or None with ``splats``.
    """

    stamp_ns: int
    offsets: dict[str, ClockOffset]
    tracks: dict[str, TrackSet]
    correspondences: list[Correspondences]
    splats: GaussianSnapshot | None
    scaffold_paths: np.ndarray | None = None


@dataclass(frozen=True)
class _RunningEstimate:
    """An offset estimate under way on the driver thread, and what it was started from.

    Attributes:
        stamp_ns: reference-clock time of the estimate.
        newest_reference: the reference camera's newest frame when it started (the splat
            model takes its colours from it).
        result: the estimate's future: the cameras' track windows it worked on, and the
            offsets it made of them.
    """

    stamp_ns: int
    newest_reference: Frame | None
    result: Future[tuple[dict[str, TrackSet], dict[str, ClockOffset]]]


class StreamingPipeline:
    """Frames of every camera in (each stamped in its own clock), synchronized results out.

    Example:
        pipe = StreamingPipeline(PipelineConfig(), cameras={"cam0": model0, "cam1": None},
                                 reference_camera="cam0")
        for frame in frames:                  # any interleaving of the cameras
            for update in pipe.add_frame(frame):
                publish(update)
        final = pipe.finish()
    """

    def __init__(
        self,
        config: PipelineConfig,
        cameras: Mapping[str, PinholeCamera | None],
        reference_camera: str,
    ) -> None:
        if reference_camera not in cameras:
            raise ValueError(f"reference camera {reference_camera!r} is not one of {sorted(cameras)}")
        self.config = config
        self.reference_camera = reference_camera
        self.cameras = dict(cameras)
        self._trackers = {name: StreamingTracker(name, config=config.tracking) for name in cameras}
        calibrations = {name: model for name, model in cameras.items() if model is not None}
        self._sync = OnlineClockSync(
            OnlineSyncConfig(
                reference_camera=reference_camera,
                window=config.sync_window,
                filter=config.clock_filter,
                reestimate_period_s=config.reestimate_period_s,
                settled_period_s=config.settled_period_s,
                window_s=config.tracking.window_s or 0.0,  # by frames or unbounded: the span seen
            ),
            calibrations,
        )
        self._depth_histories = {
            name: DepthHistory(model, config.depth_history) for name, model in cameras.items() if model is not None
        }
        self._image_histories = {
            name: ImageHistory(model, config.image_history) for name, model in cameras.items() if model is not None
        }
        self._splats: SplatModel | None = None
        self._frames_seen = {name: 0 for name in cameras}
        self._newest_frame: dict[str, Frame] = {}
        self._last_estimate_ns: int | None = None
        self._running: _RunningEstimate | None = None
        self._held_frames: list[Frame] = []  # of their cameras' turns, to train once the running estimate is done
        self._spare_frames: dict[str, Frame] = {}  # per camera, its newest untrained frame of its turn (see train_spare_frame)
        self._settled_offsets: dict[str, ClockOffset] = {}  # the sync's, as of the last finished estimate
        # Also as of the last finished estimate: the sync's filters change on the driver thread.
        self._estimate_period_s = config.reestimate_period_s

    def add_frame(self, frame: Frame, train_splats: bool = True) -> list[PipelineUpdate]:
        """Push one frame; returns the updates that became due (usually none, at most one).

        Args:
            frame: the next frame of any camera.
            train_splats: let this frame train the splat model (when its camera's turn and
                offset allow). A live node passes False, so that tracking and offsets get the
                CPU first, and gives the model its spare time with :meth:`train_spare_frame`.

        Raises:
            ValueError: the frame's camera is not part of the rig.
        """
        return self.add_frames([frame], train_splats)

    def add_frames(
        self, frames: Sequence[Frame], train_splats: bool = True, wait_for_estimates: bool = True
    ) -> list[PipelineUpdate]:
        """Push several frames of any cameras, in order; the same as :meth:`add_frame` on each
        in turn, but faster: between two estimates the cameras' trackers run concurrently.

        A tracker does most of its work in bursts (every keyframe interval it tracks the frames
        since the last one), so batches that span a keyframe interval of every camera (the bag
        tool pushes up to 64 frames at a time) keep the cores busy.

        An estimate runs on the driver thread while the frames after it are tracked, in this
        call and the next ones; its update is returned by the first call that finds it done,
        or that must wait for it because the next estimate is due (:meth:`finish` returns the
        last). The frames pushed meanwhile train the splat model only once it is done, so every
        update is the one the estimate run in line would have given, however frames are pushed.

        ``wait_for_estimates=False`` is for a live caller, whose frames keep coming (and fill
        its queue) while a push waits: an estimate that falls due while the previous one still
        runs is not waited for but starts at the first reference frame after that one ended.
        The schedule then slips on a machine too slow for the period, and which frames an
        estimate covers depends on its speed.

        Raises:
            ValueError: a frame's camera is not part of the rig (then no frame is pushed).
        """
        unknown = sorted({f.camera for f in frames} - set(self._trackers))
        if unknown:
            raise ValueError(f"frame from unknown camera {unknown[0]!r}; rig is {sorted(self._trackers)}")
        updates: list[PipelineUpdate] = []
        segment: list[Frame] = []
        for frame in frames:
            segment.append(frame)
            if frame.camera == self.reference_camera and self._estimate_starts(frame.stamp_ns, wait_for_estimates):
                self._add_segment(segment, train_splats, wait_for_estimates, updates)
                segment = []
        self._add_segment(segment, train_splats, wait_for_estimates, updates)
        return updates

    def _add_segment(self, frames: list[Frame], train_splats: bool, wait: bool, updates: list[PipelineUpdate]) -> None:
        """Push frames of which only the last may start an estimate, appending to ``updates``
        the running estimate's if it is done (or, with ``wait``, must be for the next to start)."""
        tracked = self._track(frames)
        for frame, taken in tracked:
            if not taken:
                continue
            self._frames_seen[frame.camera] += 1
            self._newest_frame[frame.camera] = frame
            if self.config.splats is None or self._frames_seen[frame.camera] % self.config.splat_camera_stride:
                continue  # not its camera's turn to train the splat model
            if train_splats:
                self._held_frames.append(frame)
            else:
                self._spare_frames[frame.camera] = frame  # the newest only: a frame replaced keeps its camera's turn
        last, last_taken = tracked[-1] if tracked else (None, False)
        starts = last_taken and last.camera == self.reference_camera and self._estimate_starts(last.stamp_ns, wait)
        if self._running is not None and (starts or self._running.result.done()):
            updates.append(self._finish_estimate())
        if self._running is None:
            self._train_held_frames()
        if starts:
            self._running = self._start_estimate(last.stamp_ns)

    def _track(self, frames: list[Frame]) -> list[tuple[Frame, bool]]:
        """``frames`` into their cameras' trackers and histories, the cameras concurrently;
        each (with its camera model) and whether it was admitted, in the given order."""
        by_camera: dict[str, list[Frame]] = {}
        for frame in frames:
            by_camera.setdefault(frame.camera, []).append(self._with_model(frame))
        run = map if len(by_camera) <= 1 else tracking_pool().map  # one camera: no thread hop
        admitted = dict(zip(by_camera, run(self._take_in, by_camera.values())))
        taken = {camera: iter(zip(by_camera[camera], admitted[camera])) for camera in by_camera}
        return [next(taken[frame.camera]) for frame in frames]

    def _with_model(self, frame: Frame) -> Frame:
        if frame.model is not None or self.cameras[frame.camera] is None:
            return frame
        return replace(frame, model=self.cameras[frame.camera])

    def _take_in(self, frames: list[Frame]) -> list[bool]:
        """One camera's frames into its tracker and history; whether each was admitted.
        Touches only that camera's state, so cameras run on separate threads."""
        taken = []
        for frame in frames:
            verdict = self._trackers[frame.camera].push(frame)
            taken.append(verdict not in (FrameVerdict.SKIPPED_STAMP, FrameVerdict.SKIPPED_FROZEN))
            if not taken[-1]:
                continue
            if frame.depth_m is not None and frame.camera in self._depth_histories:
                self._depth_histories[frame.camera].push(frame.stamp_ns, frame.depth_m)
            elif frame.depth_m is None and frame.camera in self._image_histories:
                self._image_histories[frame.camera].push(frame.stamp_ns, frame.rgb)
        return taken

    def finish(self) -> list[PipelineUpdate]:
        """Wait for the running estimate and run a last one over the final windows (end of a
        recording); their updates."""
        updates = []
        if self._running is not None:
            updates.append(self._finish_estimate())
        self._train_held_frames()
        ref_stamps = self._trackers[self.reference_camera].window_parts().stamps_ns
        if len(ref_stamps) == 0 or ref_stamps[-1] == self._last_estimate_ns:
            return updates
        self._sync.force_next_estimate()
        self._running = self._start_estimate(int(ref_stamps[-1]))
        updates.append(self._finish_estimate())
        return updates

    def offsets(self) -> dict[str, ClockOffset]:
        """Current estimate of every camera (INITIALIZING before any evidence)."""
        known = self._sync.offsets()
        return {
            name: known.get(name, ClockOffset(name, 0.0, float("inf"), 0.0, SyncState.INITIALIZING, "no estimate yet"))
            for name in self._trackers
        }

    @property
    def splat_model(self) -> SplatModel | None:
        """The 4D Gaussian model (None while it is off or not started)."""
        return self._splats

    @property
    def splat_steps(self) -> int:
        """Optimization steps the splat model has taken (0 while it is off or not started)."""
        return self._splats.step_count if self._splats is not None else 0

    def _estimate_due(self, stamp_ns: int) -> bool:
        if self._last_estimate_ns is None:
            return True
        return (stamp_ns - self._last_estimate_ns) >= self._estimate_period_s * NS_PER_S

    def _estimate_starts(self, stamp_ns: int, wait: bool) -> bool:
        """Whether the reference frame stamped ``stamp_ns`` starts an estimate: one is due, and
        the running one (if any) is done or, with ``wait``, will be waited for."""
        return self._estimate_due(stamp_ns) and (wait or self._running is None or self._running.result.done())

    def _start_estimate(self, stamp_ns: int) -> _RunningEstimate:
        """Snapshot the windows and histories; join the windows and estimate from them on the
        driver thread, so that the trackers and histories take the next frames meanwhile (the
        joining was 7 % of the all-in-one's work thread, which keeps up with the cameras)."""
        self._last_estimate_ns = stamp_ns
        parts = {name: tracker.window_parts() for name, tracker in self._trackers.items()}
        parts = {name: window for name, window in parts.items() if len(window.stamps_ns)}
        depth = {name: h.snapshot() for name, h in self._depth_histories.items() if h.num_frames and name in parts}
        images = {name: h.snapshot() for name, h in self._image_histories.items() if h.num_frames and name in parts}
        result = driver_thread().submit(self._estimate, parts, depth or None, images or None)
        return _RunningEstimate(stamp_ns, self._newest_frame.get(self.reference_camera), result)

    def _estimate(
        self, parts: dict[str, WindowParts], depth: dict[str, DepthHistory] | None, images: dict[str, ImageHistory] | None
    ) -> tuple[dict[str, TrackSet], dict[str, ClockOffset]]:
        """The cameras' windows (joined concurrently) and the offsets the sync makes of them."""
        windows = dict(zip(parts, shared_pool().map(WindowParts.assemble, parts.values())))
        return windows, self._sync.update(windows, depth, images)

    def _finish_estimate(self) -> PipelineUpdate:
        """Wait for the running estimate and turn it into an update (starting the splat model
        if due). The held frames are not yet trained on: the update shows the model as the
        estimate found it."""
        running, self._running = self._running, None
        windows, offsets = running.result.result()  # re-raises what the estimate raised
        self._settled_offsets = self._sync.offsets()
        self._estimate_period_s = self._sync.period_s
        self._maybe_start_splats(windows, running.newest_reference)
        snapshot, scaffold_paths = None, None
        if self._splats is not None:
            start_s, end_s = self._splats.supported_interval_s
            snapshot = self._splats.gaussians_at(float(np.clip(running.stamp_ns / NS_PER_S, start_s, end_s)))
            scaffold_paths = self._splats.scaffold_polylines()[1]
        log.info("estimate at %.3f s: %s", running.stamp_ns / NS_PER_S, _describe(offsets))
        return PipelineUpdate(
            stamp_ns=running.stamp_ns,
            offsets=self.offsets(),
            tracks=windows,
            correspondences=self._sync.last_correspondences(),
            splats=snapshot,
            scaffold_paths=scaffold_paths,
        )

    def _maybe_start_splats(self, windows: Mapping[str, TrackSet], newest_reference: Frame | None) -> None:
        """Start the splat model from the reference camera's 3D tracks once they exist."""
        if self.config.splats is None or self._splats is not None:
            return
        tracks = windows.get(self.reference_camera)
        if tracks is None or tracks.xyz is None or tracks.world_frame != "world" or tracks.num_tracks == 0:
            return
        colours = _track_colours(tracks, newest_reference)
        self._splats = SplatModel.from_trackset(
            self.config.splats, self.reference_camera, tracks, ClockModel(), colours
        )
        log.info("splat model started from %d tracks of %s", tracks.num_tracks, self.reference_camera)

    def _train_held_frames(self) -> None:
        """Train the splat model on the frames held while an estimate ran, in their order, with
        the offsets it produced (as they would have trained with the estimate run in line)."""
        held, self._held_frames = self._held_frames, []
        for frame in held:
            self.train_splats_on(frame)

    def train_spare_frame(self) -> bool:
        """Offer the splat model one frame pushed with ``train_splats=False``: of each camera's
        newest frame of its turn (every ``splat_camera_stride``-th), the one whose camera waited
        longest (:meth:`train_splats_on` trains on it if its camera is LOCKED). False when no
        such frame is left.

        For a live caller that gives the model only the time it has spare: it pushes every frame
        untrained and calls this while nothing else waits. The stride bounds the model's share
        as it does offline; only the newest frame of a turn is kept, so a model that falls behind
        trains on the present instead of a backlog.
        """
        if not self._spare_frames:
            return False
        self.train_splats_on(self._spare_frames.pop(next(iter(self._spare_frames))))
        return True

    def train_splats_on(self, frame: Frame) -> bool:
        """Train the splat model on ``frame`` now, if the model runs and the frame's camera is
        LOCKED (by the estimates finished so far); whether it did.

        The stride and the hold-back of :meth:`add_frames` (which make an offline run's model
        independent of timing) do not apply (see :meth:`train_spare_frame`).
        """
        frame = self._with_model(frame)
        if self._splats is None or frame.model is None:
            return False
        offset = self._settled_offsets.get(frame.camera)
        if offset is None or offset.state is not SyncState.LOCKED:
            return False
        clock = ClockModel(offset.offset_s, offset.drift_ppm, offset.t0_s)
        self._splats.add_frame(frame, frame.model, clock)
        return True


def _track_colours(tracks: TrackSet, newest: Frame) -> np.ndarray:
    """RGB in [0, 1] [N, 3] of each track in the newest frame (grey where it is not visible)."""
    colours = np.full((tracks.num_tracks, 3), 0.5, np.float32)
    uv = tracks.uv[-1]
    seen = tracks.visible[-1] & finite_points(uv)
    h, w = newest.size_hw
    cols = np.clip(np.round(uv[seen, 0]).astype(int), 0, w - 1)
    rows = np.clip(np.round(uv[seen, 1]).astype(int), 0, h - 1)
    colours[seen] = newest.rgb[rows, cols].astype(np.float32) / 255.0
    return colours


def _describe(offsets: Mapping[str, ClockOffset]) -> str:
    return ", ".join(
        f"{o.camera} {o.offset_s:+.4f}s±{o.stddev_s * 1e3:.1f}ms" if o.state is SyncState.LOCKED else f"{o.camera} {o.state.value}"
        for o in offsets.values()
    )
