"""Runs the node set on a streamed synthetic rig and measures it from the outside.

Processes besides the caller, as on a robot: :mod:`s4_ros.synth_rig_publisher` streams the rig
in real time, and either ``scripts/s4_all_in_one`` runs the pipeline, or (the distributed
variant, as ``launch/s4_distributed.launch.py`` starts it) one ``tracker_node`` per camera, the
``sync_node`` and the ``splat_node`` run it; the caller subscribes like any consumer and samples
the nodes' memory. Used by ``s4 bench --only nodes`` and the soak test.

How each figure is taken:

- latency: the all-in-one publishes every camera's tracks and then, at once, the offsets when
  an estimate finishes; the reference camera's tracks are stamped with the newest reference
  frame the estimate covers. Latency = arrival of the first ClockOffsetArray after those
  tracks minus the time the publisher sent that frame (its ``--publish-log``; both clocks are
  the machine's ``CLOCK_MONOTONIC``).
- frame rate: frames the pipeline (or, distributed, the trackers together) took from its
  queue and frames it dropped (their diagnostics) against frames the publisher sent.
- memory: the nodes' resident set size, summed, from ``/proc/<pid>/status`` once a second.

Latency is taken for the all-in-one only: distributed, the sync node publishes offsets at its own
period from whatever windows it last received, so no frame marks an estimate's start.
"""

from __future__ import annotations

import bisect
import json
import os
import random
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray

from s4.msg import ClockOffsetArray
from s4.msg import TrackSet as TrackSetMsg
from s4_core.offsets import ClockOffset
from s4_core.synth import SyntheticWorld
from s4_ros.image_messages import stamp_ns
from s4_ros.qos import output_qos
from s4_ros.s4_messages import clock_offsets_from_msg
from s4_ros.synth_rig_publisher import CAMERA_STYLE, synth_config, topics

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Rendering the recording happens before the first frame is sent; 4 x 8 s at 320x240 takes ~25 s.
RENDER_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class NodeSetScenario:
    """What to run.

    Attributes:
        synth: overrides of :func:`s4_ros.synth_rig_publisher.synth_config`.
        run_s: seconds of streaming, from the first frame sent.
        parameters: the nodes' parameter file content (``/**/pipeline``, ``/**/tracker``, ...).
        distributed: run a tracker process per camera, the sync and the splat node instead of
            the all-in-one.
    """

    synth: dict
    run_s: float
    parameters: dict = field(default_factory=dict)
    distributed: bool = False


@dataclass(frozen=True)
class NodeSetRun:
    """What was measured.

    Attributes:
        world: the synthetic world that was streamed (its clocks are the truth).
        sent_frames: frames the publisher sent, all cameras.
        queue: the last queue counters (``queue_*`` diagnostic values, as ints) of the
            all-in-one, or of all trackers summed.
        latencies_s: one latency per estimate seen (see the module docstring).
        offsets: the last offsets published.
        rss_mb: (seconds since streaming started, resident set size MB) samples.
        run_s: seconds of streaming.
    """

    world: SyntheticWorld
    sent_frames: int
    queue: dict[str, int]
    latencies_s: list[float]
    offsets: list[ClockOffset]
    rss_mb: list[tuple[float, float]]
    run_s: float

    def rss_at(self, t_s: float) -> float:
        """RSS (MB) of the last sample taken at or before ``t_s``."""
        before = [mb for t, mb in self.rss_mb if t <= t_s]
        return before[-1] if before else float("nan")

    def rss_median(self, from_s: float, to_s: float) -> float:
        """Median RSS (MB) of the samples taken in ``[from_s, to_s]``: a level that one sample
        caught at the top or bottom of the allocator's swings (+-40 MB measured) does not move."""
        within = [mb for t, mb in self.rss_mb if from_s <= t <= to_s]
        return float(np.median(within)) if within else float("nan")

    def rss_slope_mb_per_min(self, from_s: float) -> float:
        """Least-squares slope of RSS over the samples from ``from_s`` on, MB per minute."""
        samples = np.array([(t, mb) for t, mb in self.rss_mb if t >= from_s])
        if len(samples) < 3:
            return float("nan")
        return float(np.polyfit(samples[:, 0], samples[:, 1], 1)[0] * 60.0)


def run_node_set(scenario: NodeSetScenario, workdir: Path) -> NodeSetRun:
    """Stream the scenario's rig into a fresh all-in-one node and measure it (see module docstring).

    Raises:
        RuntimeError: a process died or the publisher never started, with the process output.
    """
    world = SyntheticWorld(synth_config(scenario.synth))
    rig_file, params_file = workdir / "rig.yaml", workdir / "params.yaml"
    rig_file.write_text(yaml.safe_dump(rig_description(world)))
    params_file.write_text(yaml.safe_dump(scenario.parameters))
    publish_log = workdir / "published.txt"
    with _isolated_domain() as env:
        commands = node_commands(world, scenario.distributed, rig_file, params_file)
        logs = [workdir / f"{name}.log" for name in commands]  # files: a full pipe would stall a node
        nodes = [subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
                 for command, log in zip(commands.values(), logs)]  # fmt: skip
        publisher = subprocess.Popen(
            [sys.executable, "-m", "s4_ros.synth_rig_publisher", "--synth", json.dumps(scenario.synth),
             "--run-s", str(scenario.run_s), "--publish-log", str(publish_log)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            observer = _Observer(world.reference_camera)
            observer.watch(nodes, publisher, scenario.run_s)
        finally:
            for process in (publisher, *nodes):
                process.terminate()
            for process in (publisher, *nodes):
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for name, node, log in zip(commands, nodes, logs):
            if node.returncode not in (0, -15):
                raise RuntimeError(f"{name} exited {node.returncode}:\n{log.read_text()[-3000:]}")
        if not observer.offsets:
            raise RuntimeError("no offsets were published:\n" + "\n---\n".join(log.read_text()[-1500:] for log in logs))
    sent = _published(publish_log)
    reference_sent = {s: t for camera, s, t in sent if camera == world.reference_camera}
    return NodeSetRun(
        world=world,
        sent_frames=len(sent),
        queue=observer.queue(),
        latencies_s=[] if scenario.distributed else observer.latencies_s(reference_sent),
        offsets=clock_offsets_from_msg(observer.offsets[-1][1]),
        rss_mb=observer.rss_mb,
        run_s=scenario.run_s,
    )


class _Observer:
    """The consumer side: subscribes offsets, reference tracks and diagnostics; samples RSS."""

    def __init__(self, reference_camera: str) -> None:
        self.reference_camera = reference_camera
        self.offsets: list[tuple[int, ClockOffsetArray]] = []  # (arrival monotonic ns, message)
        self.estimates: list[tuple[int, int]] = []  # (arrival monotonic ns, newest reference stamp ns)
        self.queues: dict[str, dict[str, int]] = {}  # status name -> its last queue counters
        self.rss_mb: list[tuple[float, float]] = []

    def queue(self) -> dict[str, int]:
        """The last queue counters of every node with a queue of camera frames, summed."""
        out: dict[str, int] = {}
        for counters in self.queues.values():
            for key, value in counters.items():
                out[key] = out.get(key, 0) + value
        return out

    def watch(self, nodes: list[subprocess.Popen], publisher: subprocess.Popen, run_s: float) -> None:
        """Record until the publisher has streamed for ``run_s`` seconds or a node exits."""
        start_s = _wait_until_publishing(publisher)
        rclpy.init()
        try:
            probe = rclpy.create_node("s4_node_set_probe")
            probe.create_subscription(ClockOffsetArray, "/s4/clock_offsets", self._on_offsets, output_qos(50))
            probe.create_subscription(TrackSetMsg, f"/s4/{self.reference_camera}/tracks", self._on_tracks, output_qos(5))
            probe.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, output_qos(20))
            next_sample_s = start_s
            while (now := time.monotonic()) < start_s + run_s and all(n.poll() is None for n in nodes):  # death: the caller's
                if now >= next_sample_s:
                    self.rss_mb.append((now - start_s, sum(_rss_mb(n.pid) for n in nodes)))
                    next_sample_s += 1.0
                rclpy.spin_once(probe, timeout_sec=0.05)
            probe.destroy_node()
        finally:
            rclpy.shutdown()

    def latencies_s(self, sent_ns: dict[int, int]) -> list[float]:
        """Per estimate: first offsets arrival after its reference tracks, minus that frame's send time."""
        arrivals = [t for t, _ in self.offsets]
        out = []
        for tracks_arrival_ns, stamp in self.estimates:
            i = bisect.bisect_left(arrivals, tracks_arrival_ns)
            if i < len(arrivals) and stamp in sent_ns:
                out.append((arrivals[i] - sent_ns[stamp]) / 1e9)
        return out

    def _on_offsets(self, msg: ClockOffsetArray) -> None:
        self.offsets.append((time.monotonic_ns(), msg))

    def _on_tracks(self, msg: TrackSetMsg) -> None:
        self.estimates.append((time.monotonic_ns(), stamp_ns(msg.header)))

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:  # the all-in-one's one queue (every camera reports it), or each tracker's
            if status.name == f"pipeline: {self.reference_camera}" or status.name.startswith("tracker: "):
                self.queues[status.name] = {kv.key: int(kv.value) for kv in status.values if kv.key.startswith("queue_")}


def node_commands(world: SyntheticWorld, distributed: bool, rig_file: Path, params_file: Path) -> dict[str, list[str]]:
    """Process name -> command line of the node set's processes, started the way the launch
    files start them (trackers in ``/s4/<camera>`` with their inputs remapped onto the
    publisher's topics and their extrinsics as a parameter)."""
    scripts = REPO_ROOT / "scripts"
    stage_args = ["--ros-args", "-r", "__ns:=/s4", "-p", f"rig_file:={rig_file}", "--params-file", str(params_file)]
    if not distributed:
        return {"all_in_one": [sys.executable, str(scripts / "s4_all_in_one"), *stage_args]}
    commands = {}
    for camera in world.cameras:
        t = topics(camera.name)
        extrinsics = "[" + ", ".join(repr(float(v)) for v in camera.world_from_camera.ravel()) + "]"  # all doubles
        commands[f"tracker_{camera.name}"] = [
            sys.executable, str(scripts / "tracker_node"), "--ros-args", "-r", f"__ns:=/s4/{camera.name}",
            "-r", f"image:={t['image_topic']}", "-r", f"camera_info:={t['info_topic']}", "-r", f"depth:={t['depth_topic']}",
            "-p", f"camera:={camera.name}", "-p", "use_depth:=true",
            "-p", f"compressed:={str(CAMERA_STYLE[camera.name][0] == 'jpeg').lower()}",
            "-p", f"world_from_camera:={extrinsics}", "--params-file", str(params_file),
        ]  # fmt: skip
    commands["sync"] = [sys.executable, str(scripts / "sync_node"), *stage_args]
    commands["splat"] = [sys.executable, str(scripts / "splat_node"), *stage_args]
    return commands


def rig_description(world: SyntheticWorld) -> dict:
    """The rig file's content for the world's cameras on the synthetic publisher's topics."""
    cameras = [{"name": c.name, **topics(c.name), "compressed": CAMERA_STYLE[c.name][0] == "jpeg",
                "world_from_camera": c.world_from_camera.ravel().tolist()} for c in world.cameras]  # fmt: skip
    return {"reference_camera": world.reference_camera, "world_frame": "world", "cameras": cameras}


@contextmanager
def _isolated_domain() -> Iterator[dict[str, str]]:
    """A random ROS domain with localhost-only discovery for this process and its children."""
    keys = ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE")
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(ROS_DOMAIN_ID=str(random.SystemRandom().randint(1, 101)), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p))  # fmt: skip
    try:
        yield env
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _wait_until_publishing(publisher: subprocess.Popen) -> float:
    """Monotonic time at which the publisher announced its first frame (it renders them first)."""
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    line = ""
    while time.monotonic() < deadline and publisher.poll() is None:
        ready, _, _ = select.select([publisher.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = publisher.stdout.readline() if ready else ""
        if line.startswith("publishing"):
            return time.monotonic()
    raise RuntimeError(f"the rig publisher did not start within {RENDER_TIMEOUT_S} s: {line}")


def _published(path: Path) -> list[tuple[str, int, int]]:
    """(camera, stamp_ns, send monotonic ns) of every frame in a publish log."""
    rows = (line.split() for line in path.read_text().splitlines() if line.strip())
    return [(camera, int(stamp), int(sent)) for camera, stamp, sent in rows]


def _rss_mb(pid: int) -> float:
    """Resident set size of a process, MB (NaN once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kb / 1024.0
