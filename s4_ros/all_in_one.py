"""All of s4 in one process: every camera's frames through :class:`s4_core.pipeline.StreamingPipeline`.

The same orchestrator as ``s4 sync-bag`` and ``s4 demo``, so the live rig, a bag and the tests
run one code path. Topics (relative to the node's namespace, ``/s4`` by default; cameras from
``rig_file``) are those of the distributed nodes:

- subscribes each camera's image (raw or compressed), camera_info and aligned depth;
- publishes ``clock_offsets`` every ``publish_period_s``; at every pipeline estimate
  ``<camera>/tracks`` (+ ``/points``, ``/markers``), ``correspondences``, ``splats`` and
  ``splats/ellipsoids``, ``scaffold``; ``synced/<camera>/...`` restamped images; a status per
  camera on ``/diagnostics``.

Callbacks queue the received frames; the node's work thread (:mod:`s4_ros.work_thread`)
decodes all that wait and pushes them into the pipeline together, in arrival order, so that
the cameras' trackers run concurrently (:meth:`StreamingPipeline.add_frames`; pushed one at a
time, the cameras were tracked one after another on this thread). When the pipeline cannot
keep up, each camera's queue drops the waiting frame whose loss leaves the shortest gap
(:class:`s4_ros.frame_queue.FrameQueue`), so every camera is thinned evenly, to frames evenly
spaced in time, and a frame waits for at most four times ``max_pending_frames`` / arrival rate.
The queue's counters (frames processed, dropped, pending, peak) are in each camera's diagnostic.
Tracking and offsets come first: a frame trains the splat model only when no other frame waits
and the work thread has banked the idle time for it (:mod:`s4_ros.idle_budget`), so the model
gets half of the CPU the rest leaves (offline, ``s4 sync-bag`` trains on every turn).
Offsets are published as soon as an estimate finishes (and every ``publish_period_s``); the
work thread never waits for an estimate: one that falls due while the previous one still runs
starts after it (``wait_for_estimates=False``). The pipeline starts once every camera's
camera_info has arrived, so the sync has calibrations.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from s4_core.frames import Frame
from s4_core.offsets import ClockOffset
from s4_core.pipeline import PipelineConfig, PipelineUpdate, StreamingPipeline
from s4_core.splat.model import SplatModelConfig
from s4_ros import diagnostics
from s4_ros.camera_input import CameraInput, ReceivedFrame
from s4_ros.config_fields import ParameterGroup
from s4_ros.executors import run_node
from s4_ros.frame_queue import FrameQueue
from s4_ros.idle_budget import IdleTimeBudget
from s4_ros.outputs import SplatOutputs, SyncOutputs, TrackOutputs, offset_with_staleness
from s4_ros.qos import DEFAULT_RELIABILITY, DEFAULT_SENSOR_DEPTH, sensor_qos
from s4_ros.restamping import Restamper
from s4_ros.rig_node import RigNode
from s4_ros.sync_node import initial_offsets, offset_status
from s4_ros.work_thread import WorkStep


@dataclass(frozen=True)
class AllInOneConfig:
    """Start-up settings of the all-in-one node.

    Attributes:
        rig_file: path of the rig YAML (cameras, topics, reference camera, world frame).
        reliability: reliability of the sensor subscriptions, reliable or best_effort.
        queue_depth: KEEP_LAST depth of the sensor subscriptions.
        work_period_s: how often the work thread looks for queued frames, seconds; with a
            backlog it checks for a stop request this often.
        publish_period_s: how often clock_offsets is published, seconds.
        max_pending_frames: frames (all cameras, split evenly) that may wait for the pipeline;
            beyond, each camera's queue drops the frame whose loss leaves the shortest gap.
        stale_after_s: a camera without images for this long is LOST, seconds.
        restamp_images: republish LOCKED cameras' images under synced/ with capture-time stamps.
        splats: run the 4D Gaussian model (pipeline.splats.* are its settings).
        max_marker_tracks: most track polylines drawn per camera.
        max_ellipsoids: most ellipsoid markers drawn (the most opaque Gaussians).
        ellipsoid_sigma: ellipsoid half-axes in standard deviations.
    """

    rig_file: str = ""
    reliability: str = DEFAULT_RELIABILITY
    queue_depth: int = DEFAULT_SENSOR_DEPTH
    work_period_s: float = 0.1
    publish_period_s: float = 0.1
    max_pending_frames: int = 60
    stale_after_s: float = 3.0
    restamp_images: bool = True
    splats: bool = True
    max_marker_tracks: int = 300
    max_ellipsoids: int = 1000
    ellipsoid_sigma: float = 2.0

    def __post_init__(self) -> None:
        sensor_qos(self.reliability, self.queue_depth)  # raises on an unknown reliability


#: Most idle time the work thread banks for the splat model, seconds: about two training calls
#: at 320x240 (two steps of a few thousand Gaussians). A bank of many calls would let them run
#: back to back while frames pile up: the default queue's 60 frames arrive in 0.5 s from
#: 4 x 30 fps cameras.
IDLE_BANK_S = 1.0


PARAMETER_GROUPS = (
    ParameterGroup(
        AllInOneConfig(),
        ranges={"queue_depth": (1, 100), "work_period_s": (0.01, 10.0), "publish_period_s": (0.01, 10.0),
                "max_pending_frames": (1, 10000), "stale_after_s": (0.1, 3600.0), "max_marker_tracks": (0, 10000),
                "max_ellipsoids": (0, 100000), "ellipsoid_sigma": (0.1, 10.0)},
        read_only=True,
    ),  # fmt: skip
    ParameterGroup(
        PipelineConfig(splats=SplatModelConfig()),
        prefix="pipeline.",
        ranges={"reestimate_period_s": (0.05, 600.0), "settled_period_s": (0.0, 600.0), "splat_camera_stride": (1, 1000),
                "tracking.keyframe_interval_frames": (1, 1000), "tracking.queries.grid_step_px": (1, 256),
                "sync_window.match.structure_weight": (0.0, 1.0), "sync_window.match.max_tracks": (4, 5000),
                "clock_filter.min_consistent": (1, 100), "splats.steps_per_frame": (0, 1000)},
    ),  # fmt: skip
)


class AllInOneNode(RigNode):
    """Runs the streaming pipeline on the rig's live topics; see the module docstring."""

    def __init__(self, node_name: str = "pipeline", **node_kwargs) -> None:
        """Args: node_name: the node's name; node_kwargs: passed to rclpy's Node (namespace
        defaults to ``/s4``)."""
        super().__init__(node_name, PARAMETER_GROUPS, **node_kwargs)
        self.config: AllInOneConfig
        self._queue: FrameQueue[ReceivedFrame] = FrameQueue(self.rig.names, self.config.max_pending_frames)
        self._errors = diagnostics.SurvivedErrors(self, "pipeline step")
        self._pipeline: StreamingPipeline | None = None
        self._offsets = initial_offsets(self.rig)
        self._matches: dict[str, int] = {}
        self._idle = IdleTimeBudget(IDLE_BANK_S)
        self._work_ended_s: float | None = None
        self._create_io()
        self.get_logger().info(f"s4 pipeline for {', '.join(self.rig.names)} (reference {self.rig.reference_camera})")

    def _create_io(self) -> None:
        config = self.config
        qos = sensor_qos(config.reliability, config.queue_depth)
        self._inputs = {}
        for camera in self.rig.cameras:
            restamper = Restamper(self, camera, qos, lambda name: self.current_offsets().get(name)) if config.restamp_images else None
            self._inputs[camera.name] = CameraInput(self, camera, qos, self._queue.put, restamper)
        self._track_outputs = {c: TrackOutputs(self, f"{c}/", config.max_marker_tracks) for c in self.rig.names}
        self._sync_outputs = SyncOutputs(self, self.rig.reference_camera, self.rig.world_frame)
        self._splat_outputs = SplatOutputs(self, self.rig.world_frame, config.max_ellipsoids, config.ellipsoid_sigma)
        self.create_timer(config.publish_period_s, self._publish_offsets)
        self.create_timer(1.0, self._publish_diagnostics)
        self.start_work([WorkStep(config.work_period_s, self._work)])

    def _pipeline_config(self) -> PipelineConfig:
        config = self._params.configs["pipeline."]
        return config if self.config.splats else dataclasses.replace(config, splats=None)

    def _reconfigure(self, _prefix: str, _config) -> None:
        """A pipeline parameter changed: restart the pipeline with it (state is rebuilt from the
        next frames)."""
        with self._lock:
            self._pipeline = None
            self._offsets = initial_offsets(self.rig)

    # ---- work (the work thread) -----------------------------------------------------------

    def _work(self) -> None:
        """One work period; the time the thread slept before it is banked for the splat model."""
        start_s = time.monotonic()
        if self._work_ended_s is not None:
            self._idle.earn(start_s - self._work_ended_s)
        self._work_until(start_s + self.config.work_period_s)
        self._work_ended_s = time.monotonic()

    def _work_until(self, deadline: float) -> None:
        """Push the waiting frames (each time all of them, in arrival order) until ``deadline``,
        then give the splat model what the idle-time bank affords while no frame waits (then
        return, so that a stop request is seen)."""
        with self._lock:
            pipeline = self._pipeline
        pipeline = pipeline or self._start_pipeline()
        if pipeline is None:
            return
        while time.monotonic() < deadline and (waiting := self._queue.take_waiting()):
            frames = [frame for received in waiting if (frame := self._inputs[received.camera].decode(received)) is not None]
            self._push(pipeline, frames)
        self._push(pipeline, [])  # collects an estimate that finished after the last frame
        self._train_in_spare_time(pipeline, deadline)

    def _push(self, pipeline: StreamingPipeline, frames: list[Frame]) -> None:
        """Push ``frames`` and publish the updates that came back."""
        try:
            updates = pipeline.add_frames(frames, train_splats=False, wait_for_estimates=False)
        except Exception as error:  # noqa: BLE001 (the live node outlives one failed step; see SurvivedErrors)
            self._errors.record(error)
            return
        for update in updates:
            self._publish_update(update)
            with self._lock:
                if self._pipeline is pipeline:  # not restarted meanwhile
                    self._offsets = dict(update.offsets)
            self._publish_offsets()  # at once: consumers should not wait a publish period

    def _train_in_spare_time(self, pipeline: StreamingPipeline, deadline: float) -> None:
        """Train the splat model until ``deadline`` while no frame waits and the idle-time bank
        pays for it (:mod:`s4_ros.idle_budget`), on each camera's newest frame of its turn
        (:meth:`StreamingPipeline.train_spare_frame`).

        Tracking and offsets must keep up with the cameras; the model only gets the time they
        leave. Training on each turn whatever the queue held took a fifth of the work thread on
        the 4-camera bench, which the queue paid for in dropped frames; training whenever the
        queue was empty for an instant still took a quarter (py-spy), the bank an eighth.
        """
        while self._queue.pending() == 0 and time.monotonic() < deadline and self._idle.affords_call():
            call_start_s = time.monotonic()
            try:
                if not pipeline.train_spare_frame():
                    return
            except Exception as error:  # noqa: BLE001 (as in _push)
                self._errors.record(error)
                return
            self._idle.spend(time.monotonic() - call_start_s)

    def _start_pipeline(self) -> StreamingPipeline | None:
        """The pipeline, once every camera's calibration is known."""
        models = {name: camera_input.model for name, camera_input in self._inputs.items()}
        if any(model is None for model in models.values()):
            return None
        pipeline = StreamingPipeline(self._pipeline_config(), models, self.rig.reference_camera)
        with self._lock:
            self._pipeline = pipeline
        self.get_logger().info("pipeline started: every camera is calibrated")
        return pipeline

    def _publish_update(self, update: PipelineUpdate) -> None:
        for camera, tracks in update.tracks.items():
            self._track_outputs[camera].publish(tracks, int(tracks.stamps_ns[-1]))
        counts = self._sync_outputs.publish_correspondences(update.correspondences)
        if update.splats is not None:
            self._splat_outputs.publish(update.splats, update.scaffold_paths)
        with self._lock:
            self._matches = dict(counts)

    # ---- output (executor callbacks) ---------------------------------------------------------

    def current_offsets(self) -> dict[str, ClockOffset]:
        """The latest offset of every camera, LOST for cameras whose images stopped."""
        with self._lock:
            offsets = dict(self._offsets)
        silent = {name: camera_input.health().silent_s for name, camera_input in self._inputs.items()}
        return {name: offset_with_staleness(o, silent[name], self.config.stale_after_s, "images") for name, o in offsets.items()}

    def _publish_offsets(self) -> None:
        self._sync_outputs.publish_offsets(list(self.current_offsets().values()))

    def _publish_diagnostics(self) -> None:
        offsets = self.current_offsets()
        with self._lock:
            matches = dict(self._matches)
        queue = {f"queue_{k}": v for k, v in dataclasses.asdict(self._queue.stats()).items()}
        with self._lock:
            splat_steps = self._pipeline.splat_steps if self._pipeline is not None else 0
        statuses = []
        for name, camera_input in self._inputs.items():
            status = offset_status(self.get_name(), offsets[name], matches)
            intake = camera_input.health()
            if intake.malformed and status.level == diagnostics.OK:
                status.level, status.message = diagnostics.WARN, f"malformed images: {intake.last_error}"
            status.values += diagnostics.key_values({**dataclasses.asdict(intake), **queue, "failed_steps": self._errors.count,
                                                     "splat_steps": splat_steps})  # fmt: skip
            diagnostics.report_qos_mismatch(status, camera_input.qos_mismatch())
            statuses.append(status)
        self._diagnostics.publish(statuses)


def main(args: list[str] | None = None) -> None:
    """Run the whole pipeline in this process until shutdown."""
    run_node(AllInOneNode, args)
