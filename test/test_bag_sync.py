"""``s4 sync-bag`` plumbing on synthetic bags, with an oracle pipeline that knows the true clocks.

The oracle stands in for the estimator so that these tests check the bag tool alone and
exactly: every input message survives byte for byte, every frame reaches the pipeline once
(with its depth), results are serialized faithfully, and synced stamps are the true capture
times. ``test_bag_pipeline.py`` runs the real pipeline.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import Reader

from s4_core.bagtool import BagSyncOptions, CameraOverride, sync_bag
from s4_core.bagtool.cdr_header import header_stamp_ns
from s4_core.bagtool.ros_messages import STATE_CODES
from s4_core.bagtool.typestore import s4_typestore
from s4_core.cli import sync_bag_cmd
from s4_core.cli import main as cli_main
from s4_core.cli.main import main
from s4_core.clock import NS_PER_S, ns_to_seconds
from s4_core.correspondences import Correspondences
from s4_core.frames import Frame
from s4_core.offsets import ClockOffset, SyncState
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.synth.bag import write_bag
from s4_core.synth.ground_truth import ground_truth_path, load_ground_truth
from s4_core.tracks import TrackSet

UPDATE_EVERY_FRAMES = 10


@dataclass(frozen=True)
class _Update:
    stamp_ns: int
    offsets: dict[str, ClockOffset]
    tracks: dict[str, TrackSet]
    correspondences: list[Correspondences]
    splats: None = None


@dataclass
class OraclePipeline:
    """Reports the true clocks, a tiny TrackSet per camera and one correspondence, every few frames."""

    cameras: dict
    reference: str
    truth: dict[str, ClockOffset]
    frames: list[Frame] = field(default_factory=list)

    def add_frames(self, frames: list[Frame]) -> list[_Update]:
        updates = []
        for frame in frames:
            self.frames.append(frame)
            if len(self.frames) % UPDATE_EVERY_FRAMES == 0:
                updates.append(self._update(frame.stamp_ns))
        return updates

    def finish(self) -> list[_Update]:
        return [self._update(self.frames[-1].stamp_ns)]

    def offsets(self) -> dict[str, ClockOffset]:
        return dict(self.truth)

    def _update(self, stamp_ns: int) -> _Update:
        n = len(self.frames)
        tracks = {
            name: TrackSet(
                camera=name, track_ids=np.array([n, n + 1]), stamps_ns=np.array([stamp_ns]),
                uv=np.full((1, 2, 2), 0.5, np.float32), visible=np.array([[True, False]]),
                xyz=np.ones((1, 2, 3), np.float32), descriptors=np.eye(2, 3, dtype=np.float32),
                confidence=np.full((1, 2), 0.25, np.float32), world_frame="world",
            )
            for name in sorted(self.cameras)
        }  # fmt: skip
        names = sorted(self.cameras)
        matches = [Correspondences(names[0], names[-1], np.array([n]), np.array([n + 1]), np.array([0.5], np.float32), 0.125)]
        return _Update(stamp_ns, dict(self.truth), tracks, matches)


def true_offsets(gt_file: Path) -> dict[str, ClockOffset]:
    gt = load_ground_truth(gt_file)
    return {
        name: ClockOffset(name, clock.offset_s, 1e-4, clock.drift_ppm, SyncState.LOCKED, "", clock.t0_s)
        for name, clock in gt.clocks.items()
    }


class OracleFactory:
    """Builds (and keeps) the oracle for one recording."""

    def __init__(self, bag: Path) -> None:
        self.truth = true_offsets(ground_truth_path(bag))
        self.pipeline: OraclePipeline | None = None

    def __call__(self, cameras: dict, reference: str) -> OraclePipeline:
        self.pipeline = OraclePipeline(cameras, reference, self.truth)
        return self.pipeline


@pytest.fixture(scope="module", params=[("mcap", True), ("sqlite3", False), ("sqlite3", True), ("mcap", False)],
                ids=["mcap-depth", "sqlite3-nodepth", "sqlite3-depth", "mcap-nodepth"])  # fmt: skip
def synth_bag(request, tmp_path_factory) -> Path:
    storage, with_depth = request.param
    config = SynthConfig(
        num_cameras=3, duration_s=1.0, size_wh=(48, 36), seed=3, with_depth=with_depth, drop_rate=0.1,
        drift_ppm=(0.0, 40.0, -25.0),
    )  # fmt: skip
    out = tmp_path_factory.mktemp("synth") / "rec"
    write_bag(SyntheticWorld(config), out, storage=storage)
    return out


def read_all(bag: Path) -> dict[str, list[tuple[int, bytes]]]:
    """Per topic its (log time, raw bytes) in the order the bag gives them."""
    messages = defaultdict(list)
    with Reader(bag) as reader:
        for connection, log_ns, raw in reader.messages():
            messages[connection.topic].append((log_ns, bytes(raw)))
    return messages


def topic_types(bag: Path) -> dict[str, str]:
    with Reader(bag) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def test_output_holds_every_input_message_unchanged(synth_bag, tmp_path):
    factory = OracleFactory(synth_bag)
    result = sync_bag(synth_bag, tmp_path / "out", factory)
    before, after = read_all(synth_bag), read_all(tmp_path / "out")
    for topic, messages in before.items():
        assert sorted(after[topic]) == sorted(messages), topic
    assert result.messages_copied == sum(len(m) for m in before.values())
    out_types = topic_types(tmp_path / "out")
    assert all(out_types[topic] == msgtype for topic, msgtype in topic_types(synth_bag).items())
    assert (tmp_path / "out" / "metadata.yaml").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging directory left behind"


def test_every_frame_reaches_the_pipeline_once_with_its_depth(synth_bag, tmp_path):
    factory = OracleFactory(synth_bag)
    result = sync_bag(synth_bag, tmp_path / "out", factory)
    gt = load_ground_truth(ground_truth_path(synth_bag))
    frames = factory.pipeline.frames
    assert result.frames_per_camera == gt.num_frames
    world = SyntheticWorld(gt.config)
    for i, name in enumerate(gt.cameras):
        stamps = [f.stamp_ns for f in frames if f.camera == name]
        np.testing.assert_array_equal(stamps, world.frame_times(i).stamp_ns)
    assert all((f.depth_m is not None) == gt.config.with_depth for f in frames)
    assert all(f.model is not None and f.model.width == 48 for f in frames)
    assert result.world_frame == "world"
    K = {f.camera: f.model.K for f in frames}
    for name, camera in gt.cameras.items():
        np.testing.assert_allclose(K[name], camera.K)
        pipeline_model = factory.pipeline.cameras[name]
        np.testing.assert_allclose(pipeline_model.world_from_camera, camera.world_from_camera, atol=1e-9)


def test_synced_stamps_are_true_capture_times(synth_bag, tmp_path):
    sync_bag(synth_bag, tmp_path / "out", OracleFactory(synth_bag))
    gt = load_ground_truth(ground_truth_path(synth_bag))
    world = SyntheticWorld(gt.config)
    before, after = read_all(synth_bag), read_all(tmp_path / "out")
    for i, name in enumerate(gt.cameras):
        true_capture_s = world.frame_times(i).capture_s
        for kind in ("image_raw", "camera_info"):
            original, synced = before[f"/{name}/{kind}"], after[f"/s4/synced/{name}/{kind}"]
            assert [log for log, _ in synced] == [log for log, _ in original]
            synced_s = np.array([ns_to_seconds(header_stamp_ns(raw)) for _, raw in synced])
            # The world keeps capture times as float64 seconds near 1.7e9: one ULP is 0.24 us.
            np.testing.assert_allclose(synced_s - gt.t0_s, true_capture_s - gt.t0_s, rtol=0, atol=5e-7)
            assert all(a[12:] == b[12:] for (_, a), (_, b) in zip(original, synced)), "payload changed"
    reference = [header_stamp_ns(raw) for _, raw in after[f"/s4/synced/{gt.reference_camera}/image_raw"]]
    assert reference == [header_stamp_ns(raw) for _, raw in before[f"/{gt.reference_camera}/image_raw"]]


def test_results_are_written_as_s4_messages(synth_bag, tmp_path):
    factory = OracleFactory(synth_bag)
    result = sync_bag(synth_bag, tmp_path / "out", factory)
    typestore = s4_typestore()
    after = read_all(tmp_path / "out")
    num_frames = sum(result.frames_per_camera.values())
    expected_updates = num_frames // UPDATE_EVERY_FRAMES + 1
    offsets = [typestore.deserialize_cdr(raw, "s4/msg/ClockOffsetArray") for _, raw in after["/s4/clock_offsets"]]
    assert len(offsets) == expected_updates
    for message in offsets:
        assert message.reference_camera == "cam0"
        for item in message.offsets:
            truth = factory.truth[item.camera]
            assert item.offset_s == truth.offset_s and item.drift_ppm == truth.drift_ppm
            assert item.state == STATE_CODES[SyncState.LOCKED]
            assert item.t0.sec + item.t0.nanosec / NS_PER_S == pytest.approx(truth.t0_s, abs=1e-6)
    tracks = typestore.deserialize_cdr(after["/s4/cam1/tracks"][0][1], "s4/msg/TrackSet")
    assert (tracks.num_frames, tracks.num_tracks, tracks.descriptor_dim) == (1, 2, 3)
    np.testing.assert_array_equal(tracks.visible, [1, 0])
    np.testing.assert_array_equal(tracks.descriptors.reshape(2, 3), np.eye(2, 3))
    assert tracks.header.frame_id == "world"
    matches = typestore.deserialize_cdr(after["/s4/correspondences"][0][1], "s4/msg/TrackCorrespondences")
    assert (matches.camera_a, matches.camera_b, matches.cost) == ("cam0", "cam2", 0.125)
    assert matches.ids_b[0] == matches.ids_a[0] + 1
    assert len(after["/s4/cam0/tracks"]) == expected_updates
    assert "/s4/splats" not in after


def test_output_storage_follows_the_input_unless_asked(synth_bag, tmp_path):
    gt = load_ground_truth(ground_truth_path(synth_bag))
    storage_in = "mcap" if list(synth_bag.glob("*.mcap")) else "sqlite3"
    result = sync_bag(synth_bag, tmp_path / "same", OracleFactory(synth_bag))
    assert result.storage == storage_in and list((tmp_path / "same").glob("*.mcap" if storage_in == "mcap" else "*.db3"))
    other = "sqlite3" if storage_in == "mcap" else "mcap"
    result = sync_bag(synth_bag, tmp_path / "other", OracleFactory(synth_bag), BagSyncOptions(storage=other))
    assert result.storage == other
    assert read_all(tmp_path / "other")[f"/{gt.reference_camera}/image_raw"] == read_all(synth_bag)[f"/{gt.reference_camera}/image_raw"]


@pytest.fixture
def only_sync_bag_cli(monkeypatch):
    """``s4`` with just this subcommand, so these tests do not depend on the others importing."""
    monkeypatch.setattr(cli_main, "SUBCOMMAND_MODULES", ("s4_core.cli.sync_bag_cmd",))


def test_cli_writes_bag_json_table_and_plot(synth_bag, tmp_path, monkeypatch, capsys, only_sync_bag_cli):
    factory = OracleFactory(synth_bag)
    monkeypatch.setattr(sync_bag_cmd, "pipeline_factory", lambda config_path: factory)
    out, result_json, plot = tmp_path / "out", tmp_path / "result.json", tmp_path / "offsets.png"
    code = main(["sync-bag", str(synth_bag), "-o", str(out), "--json", str(result_json), "--plot", str(plot)])
    assert code == 0
    result = json.loads(result_json.read_text())
    assert result["reference_camera"] == "cam0"
    for name, truth in factory.truth.items():
        entry = result["cameras"][name]
        assert entry["offset_s"] == truth.offset_s and entry["drift_ppm"] == truth.drift_ppm
        assert entry["state"] == "locked" and entry["stddev_s"] == 1e-4
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    captured = capsys.readouterr()
    assert "cam1" in captured.out and "locked" in captured.out
    assert "real time" in captured.err and "\r" not in captured.err  # no bar when not a terminal


def test_reference_and_camera_overrides_choose_the_cameras(synth_bag, tmp_path):
    factory = OracleFactory(synth_bag)
    options = BagSyncOptions(
        reference_camera="right",
        cameras=(CameraOverride("left", "/cam0/image_raw"), CameraOverride("right", "/cam2/image_raw")),
    )
    result = sync_bag(synth_bag, tmp_path / "out", factory, options)
    assert [c.name for c in result.cameras] == ["left", "right"] and result.reference_camera == "right"
    assert {f.camera for f in factory.pipeline.frames} == {"left", "right"}
    assert factory.pipeline.reference == "right"
