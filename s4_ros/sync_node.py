"""Sync node: all cameras' TrackSets -> clock offsets, correspondences and restamped images.

Topics (relative to the node's namespace, ``/s4`` by default; cameras from ``rig_file``):

- subscribes ``<camera>/tracks`` (s4/TrackSet) of every camera, and each camera's
  camera_info and aligned depth topics from the rig file, and its image topic while somebody
  subscribes to its restamped images (:class:`s4_ros.restamping.ImagesOnDemand`);
- publishes ``clock_offsets`` (s4/ClockOffsetArray) every ``publish_period_s``,
  ``correspondences`` (s4/TrackCorrespondences, one message per camera pair and estimate),
  ``synced/<camera>/image_raw`` (``.../compressed`` for compressed cameras) and
  ``synced/<camera>/camera_info`` stamped with the capture time in the reference clock, and a
  status per camera on ``/diagnostics``.

The offsets come from :class:`s4_core.sync.OnlineClockSync` (FGW matching and pair timing per
window, a robust solve over the pair graph, a Kalman filter with lock states per camera); this
node adds one rule of its own: a camera whose tracks stop arriving for ``stale_after_s`` is
LOST. Matching takes seconds on a CPU: it runs in the node's work thread
(:mod:`s4_ros.work_thread`); offsets, diagnostics and restamping do not wait for it.

Calibrated RGB-D cameras are timed by the consistency of their moving geometry, as in the
all-in-one: the node keeps a :class:`~s4_core.sync.depth_history.DepthHistory` per camera (from
its first camera_info on) and hands them to the sync with the tracks. The work thread owns the
histories (an estimate reads them for seconds); depth callbacks only queue the messages, a
bounded queue per camera that the match thread drains before each update.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections import deque
from dataclasses import dataclass

from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CameraInfo, Image

from s4.msg import TrackSet as TrackSetMsg
from s4_core.bagtool.cdr_header import header_stamp_ns
from s4_core.camera import PinholeCamera
from s4_core.offsets import ClockOffset, SyncState
from s4_core.sync import OnlineClockSync, OnlineSyncConfig
from s4_core.sync.depth_history import DepthHistory, DepthHistoryConfig
from s4_core.tracks import TrackSet
from s4_ros import diagnostics
from s4_ros.camera_info import CalibrationChanges, pinhole_from_camera_info
from s4_ros.config_fields import ParameterGroup
from s4_ros.executors import run_node
from s4_ros.image_messages import depth_m_from_msg
from s4_ros.outputs import SyncOutputs, offset_with_staleness
from s4_ros.qos import DEFAULT_RELIABILITY, DEFAULT_SENSOR_DEPTH, output_qos, sensor_qos
from s4_ros.restamping import ImagesOnDemand, Restamper
from s4_ros.rig_node import RigNode
from s4_ros.rig import Rig, RigCamera
from s4_ros.work_thread import WorkStep
from s4_ros.s4_messages import track_set_from_msg


@dataclass(frozen=True)
class SyncNodeConfig:
    """Start-up settings of the sync node.

    Attributes:
        rig_file: path of the rig YAML (cameras, topics, reference camera).
        reliability: reliability of the image subscriptions, reliable or best_effort.
        queue_depth: KEEP_LAST depth of the image subscriptions.
        publish_period_s: how often clock_offsets is published, seconds.
        match_period_s: how often the latest tracks are handed to the online sync, seconds (it
            re-estimates every sync.reestimate_period_s of reference time).
        stale_after_s: a camera without tracks for this long is LOST, seconds (trackers publish
            every 2 s by default).
        restamp_images: republish LOCKED cameras' images under synced/ with capture-time stamps.
        max_pending_depth_frames: depth images per camera waiting for the match thread (which
            takes them between estimates); beyond, the oldest is dropped (a history with gaps
            still times the camera).
    """

    rig_file: str = ""
    reliability: str = DEFAULT_RELIABILITY
    queue_depth: int = DEFAULT_SENSOR_DEPTH
    publish_period_s: float = 0.1
    match_period_s: float = 1.0
    stale_after_s: float = 5.0
    restamp_images: bool = True
    max_pending_depth_frames: int = 150

    def __post_init__(self) -> None:
        sensor_qos(self.reliability, self.queue_depth)  # raises on an unknown reliability


#: Ranges of the core sync settings, shared with the all-in-one pipeline node.
SYNC_RANGES = {
    "reestimate_period_s": (0.05, 600.0), "settled_period_s": (0.0, 600.0), "window_s": (0.0, 3600.0), "window.match.structure_weight": (0.0, 1.0),
    "window.match.max_tracks": (4, 5000), "window.match.min_matches": (1, 1000), "window.pair.min_matches": (1, 1000),
    "filter.min_consistent": (1, 100), "filter.evidence_timeout_s": (0.1, 3600.0),
}  # fmt: skip

PARAMETER_GROUPS = (
    ParameterGroup(
        SyncNodeConfig(),
        ranges={"queue_depth": (1, 100), "publish_period_s": (0.01, 10.0), "match_period_s": (0.05, 600.0),
                "stale_after_s": (0.1, 3600.0), "max_pending_depth_frames": (1, 10000)},
        read_only=True,
    ),  # fmt: skip
    ParameterGroup(OnlineSyncConfig(reference_camera=""), "sync.", SYNC_RANGES, exclude=("reference_camera",)),
    ParameterGroup(
        DepthHistoryConfig(),
        "depth_history.",
        {"max_width_px": (16, 8192), "window_s": (0.1, 600.0), "foreground_margin_rel": (0.001, 0.999),
         "min_background_frames": (1, 10000)},
        read_only=True,
    ),  # fmt: skip
)


class SyncNode(RigNode):
    """Estimates the rig's clock offsets; see the module docstring for topics and threading."""

    def __init__(self, node_name: str = "sync", **node_kwargs) -> None:
        """Args: node_name: the node's name; node_kwargs: passed to rclpy's Node (namespace
        defaults to ``/s4``)."""
        super().__init__(node_name, PARAMETER_GROUPS, **node_kwargs)
        self.config: SyncNodeConfig
        self._tracks: dict[str, TrackSet] = {}
        self._track_arrival: dict[str, float] = {}
        self._models: dict[str, PinholeCamera] = {}
        self._pending_depth = {c.name: deque(maxlen=self.config.max_pending_depth_frames) for c in self.rig.cameras}
        self._depth_histories: dict[str, DepthHistory] = {}  # owned by the match thread
        self._errors = diagnostics.SurvivedErrors(self, "estimate")
        self._matches: dict[str, int] = {}
        self._sync = OnlineClockSync(self._sync_config())
        self._offsets = initial_offsets(self.rig)
        self._create_io()
        self.get_logger().info(f"synchronizing {', '.join(self.rig.names)} against {self.rig.reference_camera}")

    def _sync_config(self) -> OnlineSyncConfig:
        return dataclasses.replace(self._params.configs["sync."], reference_camera=self.rig.reference_camera)

    def _reconfigure(self, _prefix: str, _config) -> None:
        """A sync parameter changed: it applies from the next estimate on (the offsets are kept)."""
        with self._lock:
            self._sync.config = self._sync_config()

    def _create_io(self) -> None:
        qos = sensor_qos(self.config.reliability, self.config.queue_depth)
        self._outputs = SyncOutputs(self, self.rig.reference_camera, self.rig.world_frame)
        self._images_on_demand: list[ImagesOnDemand] = []
        for camera in self.rig.cameras:
            self.create_subscription(TrackSetMsg, f"{camera.name}/tracks", self._on_tracks, output_qos())
            restamper = Restamper(self, camera, qos, lambda name: self.current_offsets().get(name)) if self.config.restamp_images else None
            on_info = functools.partial(self._on_camera_info, camera, CalibrationChanges(), restamper)
            self.create_subscription(CameraInfo, camera.info_topic, on_info, qos, raw=True)
            if restamper is not None:
                self._images_on_demand.append(ImagesOnDemand(self, camera, qos, restamper))
            if camera.depth_topic:
                self.create_subscription(Image, camera.depth_topic, lambda m, c=camera.name: self._on_depth(c, m), qos, raw=True)
        self.create_timer(self.config.publish_period_s, self._publish_offsets)
        self.create_timer(1.0, self._publish_diagnostics)
        self.create_timer(1.0, self._follow_image_demand)
        self.start_work([WorkStep(self.config.match_period_s, self._match)])

    def _follow_image_demand(self) -> None:
        for images in self._images_on_demand:
            images.update()

    # ---- intake ------------------------------------------------------------------------------

    def _on_tracks(self, msg: TrackSetMsg) -> None:
        if msg.camera not in self.rig.names:
            self.get_logger().warning(f"tracks of unknown camera {msg.camera!r} ignored", throttle_duration_sec=5.0)
            return
        try:
            tracks = track_set_from_msg(msg)
        except ValueError as error:
            self.get_logger().warning(f"malformed TrackSet: {error}", throttle_duration_sec=2.0)
            return
        with self._lock:
            self._tracks[msg.camera] = tracks
            self._track_arrival[msg.camera] = time.monotonic()

    def _on_camera_info(self, camera: RigCamera, calibration: CalibrationChanges, restamper: Restamper | None, raw: bytes) -> None:
        if restamper is not None:
            restamper.camera_info(raw)
        if (msg := calibration.new_calibration(raw)) is None:
            return
        try:
            model = pinhole_from_camera_info(msg, camera.name, camera.world_from_camera)
        except ValueError as error:
            self.get_logger().warning(str(error), throttle_duration_sec=5.0)
            return
        with self._lock:
            self._models[camera.name] = model

    def _on_depth(self, camera: str, raw: bytes) -> None:
        """Queue a serialized depth image: the match thread converts the ones it keeps."""
        with self._lock:
            self._pending_depth[camera].append(raw)

    # ---- work (the work thread) --------------------------------------------------------------------------------

    def _match(self) -> None:
        with self._lock:
            tracks, models, sync = dict(self._tracks), dict(self._models), self._sync
            depth_msgs = {name: list(pending) for name, pending in self._pending_depth.items()}
            for pending in self._pending_depth.values():
                pending.clear()
        self._update_depth_histories(models, depth_msgs)
        if self.rig.reference_camera not in tracks:
            return
        previous = sync.last_correspondences()
        sync.calibrations = models
        depth = {name: h for name, h in self._depth_histories.items() if h.num_frames and name in tracks}
        try:
            offsets = sync.update(tracks, depth or None)
        except Exception as error:  # noqa: BLE001 (the live node outlives one failed estimate; see SurvivedErrors)
            self._errors.record(error)
            return
        matches = sync.last_correspondences()
        new_estimate = bool(matches) and (not previous or matches[0] is not previous[0])
        counts = self._outputs.publish_correspondences(matches) if new_estimate else None
        with self._lock:
            self._offsets.update(offsets)
            self._matches = counts if counts is not None else self._matches

    def _update_depth_histories(self, models: dict[str, PinholeCamera], depth_msgs: dict[str, list[bytes]]) -> None:
        """Push the queued depth images of every calibrated camera into its history (a new
        history when the camera's image size changed)."""
        config = self._params.configs["depth_history."]
        for name, msgs in depth_msgs.items():
            model = models.get(name)
            if model is None:
                continue
            history = self._depth_histories.get(name)
            if history is None or (history.full_model.width, history.full_model.height) != (model.width, model.height):
                history = self._depth_histories[name] = DepthHistory(model, config)
            for raw in msgs:
                try:
                    history.push(header_stamp_ns(raw), depth_m_from_msg(deserialize_message(raw, Image)))
                except ValueError as error:
                    self.get_logger().warning(f"{name}: depth image ignored: {error}", throttle_duration_sec=5.0)

    def current_offsets(self) -> dict[str, ClockOffset]:
        """The latest offset of every camera, LOST for cameras whose tracks stopped."""
        now = time.monotonic()
        with self._lock:
            offsets, arrivals = dict(self._offsets), dict(self._track_arrival)
        silent = {name: now - arrivals[name] for name in arrivals}
        return {name: offset_with_staleness(o, silent.get(name), self.config.stale_after_s, "tracks") for name, o in offsets.items()}

    def _publish_offsets(self) -> None:
        self._outputs.publish_offsets(list(self.current_offsets().values()))

    def _publish_diagnostics(self) -> None:
        with self._lock:
            matches = dict(self._matches)
        statuses = [offset_status(self.get_name(), o, matches) for o in self.current_offsets().values()]
        for status in statuses:
            status.values += diagnostics.key_values({"failed_estimates": self._errors.count})
        self._diagnostics.publish(statuses)


def initial_offsets(rig: Rig) -> dict[str, ClockOffset]:
    """The offsets before any estimate: the reference LOCKED at 0, the others INITIALIZING."""
    return {
        name: ClockOffset(name, 0.0, 0.0, state=SyncState.LOCKED) if name == rig.reference_camera
        else ClockOffset(name, 0.0, float("inf"), reason="no estimate yet")
        for name in rig.names
    }  # fmt: skip


def offset_status(node_name: str, offset: ClockOffset, matches: dict[str, int]):
    """A camera's diagnostic from its offset: OK when LOCKED, WARN initializing, ERROR lost."""
    levels = {SyncState.LOCKED: diagnostics.OK, SyncState.INITIALIZING: diagnostics.WARN, SyncState.LOST: diagnostics.ERROR}
    values = {"offset_s": f"{offset.offset_s:.6f}", "stddev_s": f"{offset.stddev_s:.6f}", "drift_ppm": f"{offset.drift_ppm:.2f}",
              **{f"matches {pair}": n for pair, n in matches.items() if offset.camera in pair.split("-")}}  # fmt: skip
    message = offset.state.value + (f": {offset.reason}" if offset.reason else "")
    return diagnostics.camera_status(node_name, offset.camera, levels[offset.state], message, values)


def main(args: list[str] | None = None) -> None:
    """Run the sync node until shutdown."""
    run_node(SyncNode, args)
