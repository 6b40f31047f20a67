"""Tracker node: one camera's images -> its tracks over a sliding window (``TrackSet``).

Each camera's tracker is a node named ``tracker`` in the camera's own namespace
(``/s4/<camera>``), so one ``/**/tracker`` section of a parameter file configures them all.
Topics (relative, so they live in that namespace):

- subscribes ``image`` (Image, or CompressedImage when ``compressed``), ``camera_info`` and,
  when ``use_depth``, ``depth`` (aligned, same stamps); remap them onto the camera's topics;
- publishes ``tracks`` (s4/TrackSet), ``tracks/points`` (PointCloud2, latest position of every
  3D track) and ``tracks/markers`` (MarkerArray, track polylines), and the camera's status on
  ``/diagnostics``.

Subscription callbacks only decode and queue frames; the node's work thread
(:mod:`s4_ros.work_thread`) feeds them to :class:`s4_core.tracking.StreamingTracker` one at a
time, so a slow optical-flow step never blocks message intake (the queue thins the frames
evenly, see :class:`s4_ros.frame_queue.FrameQueue`), and publishes the window and the
diagnostics from the same thread, so the tracker needs no lock.

The window must span the largest offset to be found plus the motion that times it (8 s by
default, as in the all-in-one), and each message carries the *whole* window: measured on the
synthetic rig at 320x240 with the default query grid, an 8-s window holds ~1,560 tracks x 240
frames, ~9.4 MB. Hence ``publish_period_s`` of 2 s (~4.7 MB/s per camera), at the sync's
re-estimation pace, not the frame rate: a 0.2-s period would be ~47 MB/s per camera.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

import numpy as np

from s4_core.tracking import GeometricBackend, GeometricConfig, StreamingConfig, StreamingTracker
from s4_ros import diagnostics
from s4_ros.camera_input import CameraInput, ReceivedFrame
from s4_ros.rig import RigCamera
from s4_ros.config_fields import ParameterGroup
from s4_ros.diagnostics import DiagnosticsPublisher
from s4_ros.executors import run_node
from s4_ros.frame_queue import FrameQueue
from s4_ros.outputs import TrackOutputs
from s4_ros.parameters import NodeParameters
from s4_ros.qos import DEFAULT_RELIABILITY, DEFAULT_SENSOR_DEPTH, sensor_qos
from s4_ros.work_thread import WorkingNode, WorkStep


@dataclass(frozen=True)
class TrackerNodeConfig:
    """Start-up settings of a tracker node.

    Attributes:
        camera: camera name, given to the tracks and the diagnostics.
        compressed: the image topic carries sensor_msgs/CompressedImage instead of Image.
        use_depth: subscribe an aligned depth image (16UC1 millimetres or 32FC1 metres) on depth.
        world_from_camera: extrinsics, 16 numbers of a row-major 4x4; empty: the camera's own frame is the world.
        reliability: reliability of the sensor subscriptions, reliable or best_effort.
        queue_depth: KEEP_LAST depth of the sensor subscriptions.
        work_period_s: how often the work thread looks for queued frames, seconds; with a
            backlog it checks for a stop request this often.
        publish_period_s: how often the window's tracks are published, seconds (each message
            holds the whole window; keep it near the sync's re-estimation period).
        max_pending_frames: frames that may wait for the worker; beyond, the queue drops the
            frame whose loss leaves the shortest gap.
        max_marker_tracks: most track polylines drawn.
        stale_after_s: no image for this long makes the camera's diagnostic a warning, seconds.
    """

    camera: str = "cam0"
    compressed: bool = False
    use_depth: bool = False
    world_from_camera: tuple[float, ...] = ()
    reliability: str = DEFAULT_RELIABILITY
    queue_depth: int = DEFAULT_SENSOR_DEPTH
    work_period_s: float = 0.1
    publish_period_s: float = 2.0
    max_pending_frames: int = 30
    max_marker_tracks: int = 300
    stale_after_s: float = 2.0

    def __post_init__(self) -> None:
        if len(self.world_from_camera) not in (0, 16):
            raise ValueError(f"world_from_camera needs 16 numbers (or none), got {len(self.world_from_camera)}")
        sensor_qos(self.reliability, self.queue_depth)  # raises on an unknown reliability

    @property
    def extrinsics(self) -> np.ndarray | None:
        """world_from_camera as [4, 4], or None."""
        return np.asarray(self.world_from_camera, dtype=np.float64).reshape(4, 4) if self.world_from_camera else None


PARAMETER_GROUPS = (
    ParameterGroup(
        TrackerNodeConfig(),
        ranges={"queue_depth": (1, 100), "work_period_s": (0.01, 10.0), "publish_period_s": (0.01, 60.0),
                "max_pending_frames": (1, 1000),
                "max_marker_tracks": (0, 10000), "stale_after_s": (0.1, 3600.0)},
        read_only=True,
    ),  # fmt: skip
    ParameterGroup(
        StreamingConfig(window_frames=None, window_s=8.0, keyframe_interval_frames=10),
        prefix="tracking.",
        ranges={"window_s": (0.1, 600.0), "keyframe_interval_frames": (1, 1000), "stitch_radius_px": (0.01, 50.0),
                "queries.grid_step_px": (1, 256), "queries.border_px": (0, 256), "queries.window_px": (1, 63),
                "queries.min_texture": (0.0, 1.0), "min_valid_steps": (0, 1000), "appearance_radius_px": (0, 32)},
    ),  # fmt: skip
    ParameterGroup(
        GeometricConfig(),
        prefix="geometric.",
        ranges={"fb_threshold_px": (0.01, 50.0), "max_depth_step_rel": (0.001, 10.0)},
    ),
)


class TrackerNode(WorkingNode):
    """Tracks one camera; see the module docstring for topics and threading."""

    def __init__(self, node_name: str = "tracker", **node_kwargs) -> None:
        """Args: node_name: the node's name; node_kwargs: passed to rclpy's Node (namespace
        defaults to ``/s4/cam0``; ``cli_args`` carries per-node remappings in the all-in-one)."""
        node_kwargs.setdefault("namespace", "/s4/cam0")
        super().__init__(node_name, **node_kwargs)
        self._diagnostics = DiagnosticsPublisher(self)
        self._params = NodeParameters(self, PARAMETER_GROUPS, self._reconfigure, self._diagnostics.parameter_rejected)
        self.config: TrackerNodeConfig = self._params.configs[""]
        self._lock = threading.Lock()
        self._queue: FrameQueue[ReceivedFrame] = FrameQueue([self.config.camera], self.config.max_pending_frames)
        self._malformed_reported = 0
        self._tracker = self._new_tracker()
        self._published_stamp_ns: int | None = None
        self._create_io()
        self.get_logger().info(f"tracking camera {self.config.camera}")

    def _new_tracker(self) -> StreamingTracker:
        backend = GeometricBackend(self._params.configs["geometric."])
        return StreamingTracker(self.config.camera, backend, self._params.configs["tracking."])

    def _create_io(self) -> None:
        config = self.config
        camera = RigCamera(config.camera, "image", "camera_info", "depth" if config.use_depth else "",
                           config.compressed, config.extrinsics)  # fmt: skip
        self._input = CameraInput(self, camera, sensor_qos(config.reliability, config.queue_depth), self._queue.put)
        self._outputs = TrackOutputs(self, "", config.max_marker_tracks)
        self.start_work([WorkStep(config.work_period_s, self._work), WorkStep(config.publish_period_s, self._publish),
                         WorkStep(1.0, self._publish_diagnostics)])  # fmt: skip

    def _reconfigure(self, _prefix: str, _config) -> None:
        """A tracking parameter changed: restart the stream with the new settings."""
        with self._lock:
            self._tracker = self._new_tracker()

    # ---- work (the work thread: the tracker is only touched from here) -----------------------

    def _work(self) -> None:
        """Push queued frames, oldest first, for at most ``work_period_s`` (then return, so that
        the window gets published and a stop request is seen)."""
        with self._lock:
            tracker = self._tracker
        deadline = time.monotonic() + self.config.work_period_s
        while time.monotonic() < deadline and (received := self._queue.take()) is not None:
            if (frame := self._input.decode(received)) is not None:
                tracker.push(frame)

    def _publish(self) -> None:
        """Publish the window when it has a frame not published yet."""
        with self._lock:
            tracker = self._tracker
        tracks = tracker.window_tracks()
        if tracks.num_frames == 0 or int(tracks.stamps_ns[-1]) == self._published_stamp_ns:
            return
        self._published_stamp_ns = int(tracks.stamps_ns[-1])
        self._outputs.publish(tracks, self._published_stamp_ns)

    def _publish_diagnostics(self) -> None:
        with self._lock:
            tracker = self._tracker
        stream, intake = tracker.health(), self._input.health()
        queue = {f"queue_{k}": v for k, v in dataclasses.asdict(self._queue.stats()).items()}
        values = {**dataclasses.asdict(intake), **dataclasses.asdict(stream), **queue}
        values["silent_s"] = f"{intake.silent_s:.1f}"
        if intake.silent_s > self.config.stale_after_s:
            level, message = diagnostics.WARN, f"no images for {intake.silent_s:.1f} s"
        elif not intake.has_model:
            level, message = diagnostics.WARN, "waiting for camera_info"
        elif stream.frozen:
            level, message = diagnostics.WARN, "camera frozen (identical images)"
        elif intake.malformed > self._malformed_reported:
            level, message = diagnostics.WARN, f"malformed images: {intake.last_error}"
            self._malformed_reported = intake.malformed
        else:
            level, message = diagnostics.OK, "tracking"
        status = diagnostics.camera_status(self.get_name(), self.config.camera, level, message, values)
        diagnostics.report_qos_mismatch(status, self._input.qos_mismatch())
        self._diagnostics.publish([status])


def main(args: list[str] | None = None) -> None:
    """Run one tracker node until shutdown."""
    run_node(TrackerNode, args)
