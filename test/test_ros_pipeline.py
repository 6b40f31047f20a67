"""End to end over real DDS: a synthetic rig publisher, the all-in-one, and this test as the user.

Three processes: ``peers.ros_rig_publisher`` streams two cameras on their own clocks (cam1
0.137 s ahead, JPEG-compressed, both with aligned depth), ``scripts/s4_all_in_one`` runs the
s4_core streaming pipeline on them, and the test subscribes to what a robot's consumers and
RViz would. One scenario, recorded once, with faults:
every 10th cam0 image is malformed, cam1 stops after ``STOP_AFTER_S``, and the test sends one
invalid and one valid parameter update at run time. The tests below assert on the recording.
"""

from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pytest
import yaml

rclpy = pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.parameter_client import AsyncParameterClient  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image, PointCloud2  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from conftest import REPO_ROOT  # noqa: E402
from peers.ros_rig_publisher import synth_config, topics  # noqa: E402
from s4.msg import ClockOffset, ClockOffsetArray, TrackCorrespondences, TrackSet  # noqa: E402
from s4_core.splat.export import POINTCLOUD_FIELDS  # noqa: E402
from s4_core.synth import SyntheticWorld  # noqa: E402
from s4_ros.point_clouds import array_from_point_cloud  # noqa: E402
from s4_ros.qos import output_qos, sensor_qos  # noqa: E402
from s4_ros.s4_messages import clock_offsets_from_msg, track_set_from_msg  # noqa: E402

pytestmark = pytest.mark.slow

STOP_AFTER_S = 20.0  # publisher time at which cam1 goes silent
DEADLINE_S = 75.0  # the whole scenario, from process start

#: Light settings for a loaded two-core machine; the nodes' own defaults are for robots.
TEST_PARAMETERS = {
    "/**/pipeline": {"ros__parameters": {"stale_after_s": 2.0, "pipeline": {
        "reestimate_period_s": 1.0,
        "tracking": {"window_s": 2.0, "queries": {"grid_step_px": 12}},
        "sync_window": {"match": {"max_tracks": 80}},
        "splats": {"steps_per_frame": 1},
    }}},
}

SUBSCRIPTIONS = {
    "/s4/clock_offsets": ClockOffsetArray,
    "/s4/correspondences": TrackCorrespondences,
    "/s4/cam0/tracks": TrackSet,
    "/s4/cam1/tracks": TrackSet,
    "/s4/cam0/tracks/points": PointCloud2,
    "/s4/cam0/tracks/markers": MarkerArray,
    "/s4/splats": PointCloud2,
    "/s4/splats/ellipsoids": MarkerArray,
    "/s4/synced/cam0/image_raw": Image,
    "/s4/synced/cam1/image_raw/compressed": CompressedImage,
    "/diagnostics": DiagnosticArray,
}
#: Topics that must carry data before the faults matter (cam1 is never LOCKED if the core
#: matcher finds too few matches, so its restamped images are not required).
REQUIRED = set(SUBSCRIPTIONS) - {"/s4/synced/cam1/image_raw/compressed"}


@dataclass
class Recording:
    """Every message received, with its arrival time (seconds since the processes started)."""

    messages: dict[str, list[tuple[float, object]]] = field(default_factory=lambda: defaultdict(list))
    parameter_results: dict[str, object] = field(default_factory=dict)
    parameters_sent_s: float = float("nan")
    publisher_start_s: float = float("nan")
    node_output: str = ""
    world: SyntheticWorld | None = None

    def last(self, topic: str):
        return self.messages[topic][-1][1]

    def statuses(self, name_part: str, message_part: str = ""):
        return [(t, s) for t, msg in self.messages["/diagnostics"] for s in msg.status
                if name_part in s.name and message_part in s.message]  # fmt: skip


def _write_rig(world: SyntheticWorld, path) -> None:
    cameras = [{"name": c.name, **topics(c.name), "compressed": c.name == "cam1",
                "world_from_camera": c.world_from_camera.ravel().tolist()} for c in world.cameras]  # fmt: skip
    path.write_text(yaml.safe_dump({"reference_camera": "cam0", "world_frame": "world", "cameras": cameras}))


def _first_lost_s(rec: Recording) -> float | None:
    """Arrival time of the first offsets marking cam1 LOST after it stopped, if any."""
    stop_s = rec.publisher_start_s + STOP_AFTER_S
    for t, msg in rec.messages["/s4/clock_offsets"]:
        if t > stop_s and any(o.camera == "cam1" and o.state == ClockOffset.STATE_LOST for o in msg.offsets):
            return t
    return None


def _done(rec: Recording, now_s: float) -> bool:
    """Everything the tests look at has happened (and 3 s have passed since cam1 was lost).

    The tests read the latest track set, so one must have arrived after the splat model
    started: the first track sets of a (re)started pipeline cover a single frame.
    """
    lost_s = _first_lost_s(rec)
    return (
        REQUIRED <= set(rec.messages)
        and rec.messages["/s4/cam0/tracks"][-1][0] > rec.messages["/s4/splats"][0][0]
        and lost_s is not None
        and now_s > lost_s + 3.0
        and bool(rec.statuses("pipeline: parameters", "rejected parameter update"))
        and len(rec.parameter_results) == 2
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Recording:
    """Runs the scenario once for all tests of this module (conftest's ``ros_env`` is function
    scoped, so the same isolation is set up here: random domain, localhost discovery)."""
    tmp = tmp_path_factory.mktemp("pipeline")
    rec = Recording(world=SyntheticWorld(synth_config({})))
    _write_rig(rec.world, tmp / "rig.yaml")
    (tmp / "params.yaml").write_text(yaml.safe_dump(TEST_PARAMETERS))
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.SystemRandom().randint(1, 101)),
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "test")]))  # fmt: skip
    old_env = {k: os.environ.get(k) for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE")}
    os.environ.update({k: env[k] for k in old_env})
    start = time.monotonic()
    node_log = tmp / "all_in_one.log"  # a file, not a pipe: a full pipe would stall the node
    node_proc = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "scripts" / "s4_all_in_one"), "--ros-args", "-r", "__ns:=/s4",
         "-p", f"rig_file:={tmp / 'rig.yaml'}", "--params-file", str(tmp / "params.yaml")],
        env=env, stdout=node_log.open("w"), stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    publisher = subprocess.Popen(
        [sys.executable, "-m", "peers.ros_rig_publisher", "--run-s", str(DEADLINE_S), "--malformed-every", "10",
         "--stop-camera", "cam1", "--stop-after-s", str(STOP_AFTER_S), "--synth", json.dumps({})],
        cwd=REPO_ROOT / "test", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    rclpy.init()
    try:
        rec.publisher_start_s = _wait_until_publishing(publisher) - start
        _record(rec, start)
    finally:
        rclpy.shutdown()
        for proc in (publisher, node_proc):
            proc.terminate()
        try:
            node_proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node_proc.kill()
            node_proc.wait()
        rec.node_output = node_log.read_text()
        publisher.kill()
        publisher.communicate()
        for k, v in old_env.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return rec


def _wait_until_publishing(publisher: subprocess.Popen, timeout_s: float = 40.0) -> float:
    """Monotonic time at which the publisher announced its first frame (it renders them first)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([publisher.stdout], [], [], deadline - time.monotonic())
        line = publisher.stdout.readline() if ready else ""
        if line.startswith("publishing"):
            return time.monotonic()
        if publisher.poll() is not None:
            break
    raise AssertionError(f"the rig publisher did not start within {timeout_s} s: {line}{publisher.stdout.read()}")


def _record(rec: Recording, start: float) -> None:
    node = rclpy.create_node("s4_test_user")
    for topic, msg_type in SUBSCRIPTIONS.items():
        qos = sensor_qos("reliable", 5) if msg_type in (Image, CompressedImage) else output_qos(50)
        node.create_subscription(msg_type, topic, lambda m, t=topic: rec.messages[t].append((time.monotonic() - start, m)), qos)
    client = AsyncParameterClient(node, "/s4/pipeline")
    futures = {}
    while time.monotonic() - start < DEADLINE_S and not _done(rec, time.monotonic() - start):
        rclpy.spin_once(node, timeout_sec=0.05)
        if rec.messages["/s4/cam0/tracks"] and not futures:
            futures["invalid"] = client.set_parameters([Parameter("pipeline.sync_window.match.structure_weight", value=2.0)])
            futures["valid"] = client.set_parameters([Parameter("pipeline.splat_camera_stride", value=2)])
            rec.parameters_sent_s = time.monotonic() - start
        for name, future in futures.items():
            if future.done() and name not in rec.parameter_results:
                rec.parameter_results[name] = future.result().results[0]
    node.destroy_node()


def _why(rec: Recording) -> str:
    counts = {t: len(v) for t, v in rec.messages.items()}
    return f"received {counts}; node output tail:\n{rec.node_output[-3000:]}"


def test_every_output_arrives(recording):
    missing = sorted(REQUIRED - set(recording.messages))
    assert not missing, f"never received {missing} within {DEADLINE_S} s; {_why(recording)}"


def test_clock_offsets_are_published_continuously_and_well_formed(recording):
    arrivals = [t for t, _ in recording.messages["/s4/clock_offsets"]]
    assert len(arrivals) >= 20, _why(recording)
    assert np.max(np.diff(arrivals)) < 3.0, "offsets stalled (matching must not block them)"
    msg = recording.last("/s4/clock_offsets")
    assert msg.reference_camera == "cam0" and msg.header.frame_id == "world"
    offsets = {o.camera: o for o in clock_offsets_from_msg(msg)}
    assert set(offsets) == {"cam0", "cam1"}
    assert offsets["cam0"].offset_s == 0.0
    for _, m in recording.messages["/s4/clock_offsets"]:
        cam1 = next(o for o in m.offsets if o.camera == "cam1")
        if cam1.state == ClockOffset.STATE_LOCKED:  # when the core locks, it must be the truth
            assert cam1.offset_s == pytest.approx(0.137, abs=0.02), cam1
        else:
            assert cam1.reason, "a camera that is not LOCKED must say why"


def test_track_sets_keep_each_camera_clock(recording):
    world = recording.world
    period_ns = int(world.config.duration_s * 1e9)
    for i, camera in enumerate(("cam0", "cam1")):
        truth = world.frame_times(i).stamp_ns
        phases = set(((truth - truth[0]) % period_ns).tolist())
        _, msg = recording.messages[f"/s4/{camera}/tracks"][-1]
        tracks = track_set_from_msg(msg)
        assert tracks.camera == camera and tracks.world_frame == "world" and tracks.xyz is not None
        assert tracks.num_frames >= 2 and tracks.num_tracks > 10
        stamp_phases = ((tracks.stamps_ns - truth[0]) % period_ns).tolist()
        assert set(stamp_phases) <= phases, f"{camera} tracks carry stamps that camera never sent"
        assert np.isfinite(tracks.xyz[tracks.visible]).all()


def test_correspondences_are_well_formed(recording):
    for _, msg in recording.messages["/s4/correspondences"]:
        assert (msg.camera_a, msg.camera_b) == ("cam0", "cam1")
        assert len(msg.ids_a) == len(msg.ids_b) == len(msg.weights)
        weights = np.frombuffer(msg.weights, np.float32) if len(msg.weights) else np.zeros(0)
        assert np.all((weights >= 0) & (weights <= 1))
        assert np.isfinite(msg.cost) or len(msg.ids_a) == 0


def test_point_clouds_and_markers_are_well_formed(recording):
    splats = array_from_point_cloud(recording.last("/s4/splats"))
    assert splats.dtype.names == POINTCLOUD_FIELDS and len(splats) > 10
    assert recording.last("/s4/splats").header.frame_id == "world"
    assert np.isfinite(np.stack([splats["x"], splats["y"], splats["z"]])).all()
    assert np.all((splats["opacity"] > 0) & (splats["opacity"] < 1))
    points = array_from_point_cloud(recording.last("/s4/cam0/tracks/points"))
    assert points.dtype.names == ("x", "y", "z", "track_id") and len(points) > 10
    for topic, kind in (("/s4/cam0/tracks/markers", Marker.LINE_STRIP), ("/s4/splats/ellipsoids", Marker.SPHERE)):
        markers = recording.last(topic).markers
        assert markers[0].action == Marker.DELETEALL and len(markers) > 1, topic
        assert all(m.type == kind for m in markers[1:]), topic
        if kind == Marker.LINE_STRIP:
            assert all(len(m.points) >= 2 for m in markers[1:]), topic
        else:
            assert all(min(m.scale.x, m.scale.y, m.scale.z) > 0 for m in markers[1:]), topic


def test_the_splat_model_trains_in_the_time_tracking_leaves(recording):
    steps = [int(kv.value) for _, status in recording.statuses("pipeline: cam0") for kv in status.values if kv.key == "splat_steps"]
    assert steps and steps[-1] > 0, f"this small rig leaves the work thread spare time, yet the model never trained; {_why(recording)}"


def test_reference_images_are_republished_with_capture_stamps(recording):
    truth = recording.world.frame_times(0).stamp_ns
    period_ns = int(recording.world.config.duration_s * 1e9)
    for _, msg in recording.messages["/s4/synced/cam0/image_raw"][-5:]:
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        assert (stamp - truth[0]) % period_ns in set(((truth - truth[0]) % period_ns).tolist())
        assert (msg.width, msg.height) == (160, 120)


def test_stopped_camera_is_lost_while_the_rest_keeps_running(recording):
    lost_s = _first_lost_s(recording)
    assert lost_s is not None, f"cam1 never became LOST after it stopped; {_why(recording)}"
    cam1 = next(o for o in recording.last("/s4/clock_offsets").offsets if o.camera == "cam1")
    assert cam1.state == ClockOffset.STATE_LOST and "no images for" in cam1.reason
    cam0 = next(o for o in recording.last("/s4/clock_offsets").offsets if o.camera == "cam0")
    assert cam0.state == ClockOffset.STATE_LOCKED, "the reference camera still runs"
    assert [t for t, _ in recording.messages["/s4/cam0/tracks"] if t > lost_s], "cam0 tracking stopped with cam1"
    assert [t for t, _ in recording.messages["/s4/clock_offsets"] if t > lost_s + 2.0], "offsets stopped with cam1"


def test_malformed_images_are_diagnosed_and_tracking_continues(recording):
    malformed = recording.statuses("pipeline: cam0", "malformed images")
    assert malformed, f"no diagnostic for the malformed cam0 images; {_why(recording)}"
    assert "needs 57600 bytes, got 28800" in malformed[0][1].message
    assert [t for t, _ in recording.messages["/s4/cam0/tracks"] if t > malformed[0][0]], "cam0 stopped after a bad image"


def test_invalid_parameter_update_is_rejected_logged_and_diagnosed(recording):
    results = recording.parameter_results
    assert "invalid" in results and "valid" in results, f"parameter services did not answer; {_why(recording)}"
    assert not results["invalid"].successful
    assert "structure_weight" in results["invalid"].reason
    diag = recording.statuses("pipeline: parameters", "rejected parameter update")
    assert diag and "pipeline.sync_window.match.structure_weight=2.0 is outside [0.0, 1.0]" in diag[0][1].message
    assert "rejected parameter update: pipeline.sync_window.match.structure_weight" in recording.node_output
    assert results["valid"].successful, results["valid"].reason
    assert "parameters updated: pipeline.splat_camera_stride" in recording.node_output
    assert [t for t, _ in recording.messages["/s4/clock_offsets"] if t > recording.parameters_sent_s], "the node died"
