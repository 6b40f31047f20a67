"""Splat node: images + clock offsets + tracks -> a sliding-window 4D Gaussian model.

Topics (relative to the node's namespace, ``/s4`` by default; cameras from ``rig_file``):

- subscribes each camera's image and camera_info topics (from the rig), its depth topic when
  the rig names one and ``splat.seed_from_depth`` is set at start-up (the model lifts each
  camera's first depth frame into Gaussians), ``clock_offsets`` (s4/ClockOffsetArray) and
  ``<reference camera>/tracks`` (s4/TrackSet);
- publishes ``splats`` (PointCloud2: x y z rgb opacity scale_* rot_*), ``splats/ellipsoids``
  (MarkerArray of SPHEREs shaped by each covariance) and ``scaffold`` (MarkerArray of the motion
  spline of every scaffold node), all in the rig's world frame, and a status per camera on
  ``/diagnostics`` (with the model's sub-frame offset corrections).

The model (:class:`s4_core.splat.model.SplatModel`) starts from the reference camera's 3D tracks
once they span ``min_track_frames``; from then on every frame of a camera whose offset is LOCKED
is added at its capture time (one bounded optimization each), in the node's work thread.
"""

from __future__ import annotations

import dataclasses
import os

from collections import deque
from dataclasses import dataclass

import numpy as np

from s4.msg import ClockOffsetArray
from s4.msg import TrackSet as TrackSetMsg
from s4_core.clock import ClockModel, ns_to_seconds
from s4_core.frames import Frame
from s4_core.offsets import ClockOffset, SyncState
from s4_core.splat.model import SplatModel, SplatModelConfig
from s4_core.tracks import TrackSet
from s4_ros import diagnostics
from s4_ros.camera_input import CameraInput, ReceivedFrame
from s4_ros.config_fields import ParameterGroup
from s4_ros.executors import run_node
from s4_ros.outputs import SplatOutputs
from s4_ros.qos import DEFAULT_RELIABILITY, DEFAULT_SENSOR_DEPTH, output_qos, sensor_qos
from s4_ros.rig_node import RigNode
from s4_ros.work_thread import WorkStep
from s4_ros.s4_messages import clock_offsets_from_msg, track_set_from_msg


@dataclass(frozen=True)
class SplatNodeConfig:
    """Start-up settings of the splat node.

    Attributes:
        rig_file: path of the rig YAML (cameras, topics, reference camera, world frame).
        reliability: reliability of the image subscriptions, reliable or best_effort.
        queue_depth: KEEP_LAST depth of the image subscriptions.
        publish_period_s: how often the model is refined with new frames and published, seconds.
        max_pending_frames: frames waiting beyond this are dropped, oldest first (bounds the work per period).
        min_track_frames: the model starts once the reference tracks span this many frames.
        max_ellipsoids: most ellipsoid markers drawn (the most opaque Gaussians).
        ellipsoid_sigma: ellipsoid half-axes in standard deviations.
        niceness: added to the process's nice value at start. The model is the stage that may
            lag: on the 4-camera bench's 2 cores the splat node took as much CPU as the sync
            node, and the trackers, at equal priority, tracked 84-91 of the 119 frames/s
            offered. A positive value lets the trackers and the sync keep up first; 0 leaves
            the scheduler alone.
    """

    rig_file: str = ""
    reliability: str = DEFAULT_RELIABILITY
    queue_depth: int = DEFAULT_SENSOR_DEPTH
    publish_period_s: float = 0.5
    max_pending_frames: int = 4
    min_track_frames: int = 8
    max_ellipsoids: int = 1000
    ellipsoid_sigma: float = 2.0
    niceness: int = 10

    def __post_init__(self) -> None:
        sensor_qos(self.reliability, self.queue_depth)  # raises on an unknown reliability


PARAMETER_GROUPS = (
    ParameterGroup(
        SplatNodeConfig(),
        ranges={"queue_depth": (1, 100), "publish_period_s": (0.01, 60.0), "max_pending_frames": (1, 1000),
                "min_track_frames": (2, 10000), "max_ellipsoids": (0, 100000), "ellipsoid_sigma": (0.1, 10.0),
                "niceness": (0, 19)},
        read_only=True,
    ),  # fmt: skip
    ParameterGroup(
        SplatModelConfig(),
        prefix="splat.",
        ranges={"window_s": (0.1, 60.0), "knot_spacing_s": (0.005, 10.0), "max_nodes": (1, 100000), "neighbours": (1, 32),
                "steps_per_frame": (0, 1000), "max_frames_per_camera": (1, 1000), "initial_opacity": (0.001, 0.999),
                "max_offset_delta_s": (0.0, 1.0), "densify.max_gaussians": (1, 10_000_000), "node_coverage_share": (0.0, 1.0),
                "node_motion_tolerance_m": (0.0, 10.0), "surfel_max_stretch": (1.0, 100.0), "surfel_thickness": (0.001, 10.0)},
    ),  # fmt: skip
)


def track_colours(tracks: TrackSet, frame: Frame | None) -> np.ndarray:
    """RGB [N, 3] in [0, 1] of each track, sampled from ``frame`` where the tracks saw it, else grey."""
    colours = np.full((tracks.num_tracks, 3), 0.5, np.float32)
    rows = np.flatnonzero(tracks.stamps_ns == frame.stamp_ns) if frame is not None else []
    if len(rows) == 0:
        return colours
    uv, seen = tracks.uv[rows[0]], tracks.visible[rows[0]]
    height, width = frame.size_hw
    seen &= np.all(np.isfinite(uv), axis=1)
    cols = np.clip(np.rint(uv[seen, 0]).astype(int), 0, width - 1)
    rows_px = np.clip(np.rint(uv[seen, 1]).astype(int), 0, height - 1)
    colours[seen] = frame.rgb[rows_px, cols] / 255.0
    return colours


class SplatNode(RigNode):
    """Maintains the 4D Gaussian model; see the module docstring for topics and threading."""

    def __init__(self, node_name: str = "splat", **node_kwargs) -> None:
        """Args: node_name: the node's name; node_kwargs: passed to rclpy's Node (namespace
        defaults to ``/s4``)."""
        super().__init__(node_name, PARAMETER_GROUPS, **node_kwargs)
        self.config: SplatNodeConfig
        if self.config.niceness:
            os.nice(self.config.niceness)  # the whole process: the executor and the work thread
            self.get_logger().info(f"running at nice +{self.config.niceness}: trackers and sync get the CPU first")
        self._pending: deque[ReceivedFrame] = deque(maxlen=self.config.max_pending_frames)
        self._latest_frame: dict[str, ReceivedFrame] = {}
        self._offsets: dict[str, ClockOffset] = {}
        self._reference_tracks: TrackSet | None = None
        self._model: SplatModel | None = None
        self._newest_capture_s = float("nan")
        self._frames_added = 0
        self._create_io()

    def _reconfigure(self, _prefix: str, _config) -> None:
        """A model parameter changed: start a new model with it from the next tracks."""
        with self._lock:
            self._model = None

    def _create_io(self) -> None:
        qos = sensor_qos(self.config.reliability, self.config.queue_depth)
        with_depth = self._params.configs["splat."].seed_from_depth  # decided once: subscriptions stay
        self._inputs = {
            c.name: CameraInput(self, c if with_depth else dataclasses.replace(c, depth_topic=""), qos, self._queue)
            for c in self.rig.cameras
        }  # fmt: skip
        self.create_subscription(ClockOffsetArray, "clock_offsets", self._on_offsets, output_qos())
        self.create_subscription(TrackSetMsg, f"{self.rig.reference_camera}/tracks", self._on_tracks, output_qos())
        self._outputs = SplatOutputs(self, self.rig.world_frame, self.config.max_ellipsoids, self.config.ellipsoid_sigma)
        self.start_work([WorkStep(self.config.publish_period_s, self._work)])

    # ---- intake ------------------------------------------------------------------------------

    def _queue(self, received: ReceivedFrame) -> None:
        with self._lock:
            self._latest_frame[received.camera] = received
            self._pending.append(received)

    def _on_offsets(self, msg: ClockOffsetArray) -> None:
        offsets = {o.camera: o for o in clock_offsets_from_msg(msg)}
        with self._lock:
            self._offsets = offsets

    def _on_tracks(self, msg: TrackSetMsg) -> None:
        try:
            tracks = track_set_from_msg(msg)
        except ValueError as error:
            self.get_logger().warning(f"malformed TrackSet: {error}", throttle_duration_sec=2.0)
            return
        with self._lock:
            self._reference_tracks = tracks

    # ---- work (the work thread) --------------------------------------------------------------------------------

    def _work(self) -> None:
        with self._lock:
            frames = list(self._pending)
            self._pending.clear()
            offsets, model = dict(self._offsets), self._model
        model = model or self._start_model()
        self._publish_diagnostics(model, offsets)
        if model is None:
            return
        for received in frames:
            offset = offsets.get(received.camera)
            if offset is None or offset.state is not SyncState.LOCKED:
                continue
            if (frame := self._inputs[received.camera].decode(received)) is None:
                continue
            clock = ClockModel(offset.offset_s, offset.drift_ppm, offset.t0_s)
            model.add_frame(frame, frame.model, clock)
            self._frames_added += 1
            self._newest_capture_s = max(float(clock.capture_time(ns_to_seconds(frame.stamp_ns))), self._newest_capture_s)
        self._publish(model)

    def _start_model(self) -> SplatModel | None:
        with self._lock:
            tracks = self._reference_tracks
            received = self._latest_frame.get(self.rig.reference_camera)
        if tracks is None or tracks.xyz is None or tracks.num_frames < self.config.min_track_frames or tracks.num_tracks == 0:
            return None
        frame = self._inputs[received.camera].decode(received) if received is not None else None
        model = SplatModel.from_trackset(self._params.configs["splat."], self.rig.reference_camera, tracks,
                                         ClockModel(), track_colours(tracks, frame))  # the reference clock is reference time
        self._newest_capture_s = float(ns_to_seconds(tracks.stamps_ns[-1]))
        with self._lock:
            self._model = model
        self.get_logger().info(f"splat model started from {tracks.num_tracks} tracks of {tracks.camera}")
        return model

    def _publish(self, model: SplatModel) -> None:
        start, end = model.supported_interval_s
        snapshot = model.gaussians_at(float(np.clip(self._newest_capture_s, start, end)))
        self._outputs.publish(snapshot, model.scaffold_polylines()[1])

    def _publish_diagnostics(self, model: SplatModel | None, offsets: dict[str, ClockOffset]) -> None:
        deltas = model.offset_deltas_s() if model is not None else {}
        statuses = []
        for name in self.rig.names:
            locked = name in offsets and offsets[name].state is SyncState.LOCKED
            if model is None:
                level, message = diagnostics.WARN, "waiting for reference tracks with 3D"
            elif not locked:
                level, message = diagnostics.WARN, "waiting for a locked clock offset"
            else:
                level, message = diagnostics.OK, "modelling"
            values = {"offset_delta_s": f"{deltas.get(name, 0.0):.6f}", "frames_added": self._frames_added,
                      "gaussians": model.gaussians.count if model is not None else 0}  # fmt: skip
            status = diagnostics.camera_status(self.get_name(), name, level, message, values)
            diagnostics.report_qos_mismatch(status, self._inputs[name].qos_mismatch())
            statuses.append(status)
        self._diagnostics.publish(statuses)


def main(args: list[str] | None = None) -> None:
    """Run the splat node until shutdown."""
    run_node(SplatNode, args)
