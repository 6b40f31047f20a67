"""The distributed variant over real DDS: one tracker process per camera, the sync and splat nodes.

Started the way ``launch/s4_distributed.launch.py`` starts them (tracker ``tracker`` in
``/s4/<camera>``, inputs remapped onto the camera's topics, extrinsics as a parameter), fed by
the synthetic rig publisher; the test checks that the stages talk to each other: both cameras'
TrackSets reach the sync node, which publishes offsets and correspondences, and the splat node
builds its model from the reference tracks. The sync node also gets each camera's depth, as the
all-in-one does; whenever it locks cam1, the offset must be the known 0.137 s. (Locking is not
required: on this 160x120 test rig the core sync does not lock cam1 within a test-sized run,
offline either; measured with the core's 2- and 6-s windows.)
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import defaultdict

import pytest
import yaml

rclpy = pytest.importorskip("rclpy")
from visualization_msgs.msg import MarkerArray  # noqa: E402

from conftest import REPO_ROOT  # noqa: E402
from peers.ros_rig_publisher import synth_config  # noqa: E402
from s4.msg import ClockOffset, ClockOffsetArray, TrackCorrespondences, TrackSet  # noqa: E402
from s4_core.synth import SyntheticWorld  # noqa: E402
from s4_ros.node_set_probe import node_commands, rig_description  # noqa: E402
from s4_ros.qos import output_qos  # noqa: E402
from s4_ros.s4_messages import track_set_from_msg  # noqa: E402

pytestmark = pytest.mark.slow

DEADLINE_S = 60.0
WANTED = {
    "/s4/cam0/tracks": TrackSet,
    "/s4/cam1/tracks": TrackSet,
    "/s4/clock_offsets": ClockOffsetArray,
    "/s4/correspondences": TrackCorrespondences,
    "/s4/scaffold": MarkerArray,
}
SEEDED = "Gaussians lifted from the depth of cam0"  # the splat node's log line once it seeded from depth
TRUE_OFFSET_S = 0.137  # cam1, see peers.ros_rig_publisher.synth_config
OFFSET_TOLERANCE_S = 0.02  # 0.6 frame at 30 fps, as the all-in-one test
#: Test-sized windows (the recording loops every 2.5 s); trackers publish each 2-s window every
#: second and the sync re-estimates on each new one.
PARAMETERS = {
    "/**/tracker": {"ros__parameters": {"publish_period_s": 1.0, "tracking": {"window_s": 2.0, "queries": {"grid_step_px": 12}}}},
    "/**/sync": {"ros__parameters": {"sync": {"reestimate_period_s": 0.8, "window": {"match": {"max_tracks": 80}}}}},
    "/**/splat": {"ros__parameters": {"max_pending_frames": 2, "splat": {"steps_per_frame": 1}}},
}


def _cam1(offsets: ClockOffsetArray) -> ClockOffset:
    return next(o for o in offsets.offsets if o.camera == "cam1")


def test_distributed_nodes_work_together(tmp_path):
    world = SyntheticWorld(synth_config({}))
    (tmp_path / "rig.yaml").write_text(yaml.safe_dump(rig_description(world)))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMETERS))
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.SystemRandom().randint(1, 101)), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "test")]))  # fmt: skip
    nodes = node_commands(world, True, tmp_path / "rig.yaml", tmp_path / "params.yaml")  # trackers, sync, splat last
    commands = [[sys.executable, "-m", "peers.ros_rig_publisher", "--run-s", str(DEADLINE_S)], *nodes.values()]
    logs = [tmp_path / f"process{i}.log" for i in range(len(commands))]  # files: a full pipe would stall a node
    processes = [subprocess.Popen(c, cwd=REPO_ROOT / "test", env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
                 for c, log in zip(commands, logs)]  # fmt: skip
    received: dict[str, list] = defaultdict(list)
    old = {k: os.environ.get(k) for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE")}
    os.environ.update({k: env[k] for k in old})
    rclpy.init()
    try:
        node = rclpy.create_node("s4_test_distributed")
        for topic, msg_type in WANTED.items():
            node.create_subscription(msg_type, topic, lambda m, t=topic: received[t].append(m), output_qos(20))
        start = time.monotonic()
        while time.monotonic() - start < DEADLINE_S and ((set(WANTED) - set(received)) or SEEDED not in logs[-1].read_text()):
            rclpy.spin_once(node, timeout_sec=0.1)
            if any(p.poll() is not None for p in processes[1:]):
                break  # a node died: reported below with its output
        node.destroy_node()
    finally:
        rclpy.shutdown()
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=20)
        outputs = [log.read_text() for log in logs]
    died = [f"{' '.join(c[1:3])} exited {p.returncode}:\n{o[-2000:]}" for c, p, o in zip(commands, processes, outputs)
            if p.returncode not in (0, -15)]  # fmt: skip
    assert not died, "\n".join(died)
    missing = sorted(set(WANTED) - set(received))
    assert not missing, f"never received {missing}; node output tails:\n" + "\n---\n".join(o[-1500:] for o in outputs[1:])
    for camera in ("cam0", "cam1"):
        tracks = track_set_from_msg(received[f"/s4/{camera}/tracks"][-1])
        assert tracks.camera == camera and tracks.xyz is not None and tracks.num_tracks > 10
    offsets = received["/s4/clock_offsets"][-1]
    assert {o.camera for o in offsets.offsets} == {"cam0", "cam1"}
    assert next(o for o in offsets.offsets if o.camera == "cam0").state == ClockOffset.STATE_LOCKED
    for cam1 in map(_cam1, received["/s4/clock_offsets"]):
        if cam1.state == ClockOffset.STATE_LOCKED:
            assert cam1.offset_s == pytest.approx(TRUE_OFFSET_S, abs=OFFSET_TOLERANCE_S), cam1
        else:
            assert cam1.reason, "a camera that is not LOCKED must say why"
    corr = received["/s4/correspondences"][-1]
    assert (corr.camera_a, corr.camera_b) == ("cam0", "cam1") and len(corr.ids_a) == len(corr.ids_b)
    assert len(received["/s4/scaffold"][-1].markers) > 1, "the splat node drew no scaffold"
    assert SEEDED in outputs[-1], "the splat node never lifted the reference camera's depth into Gaussians"
