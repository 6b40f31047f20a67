"""Bad input to ``s4 sync-bag``: a one-line error and exit code 2, or a warning and the rest synced.

Never a partial output: after every failure the destination does not exist and no staging
directory is left beside it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import Reader

from s4_core.bagtool import sync_bag
from s4_core.bagtool.ros_messages import header_message, serialize
from s4_core.bagtool.staged_writer import StagedBagWriter
from s4_core.bagtool.typestore import s4_typestore
from s4_core.cli import main as cli_main
from s4_core.cli import sync_bag_cmd
from s4_core.cli.main import main
from s4_core.frames import Frame
from s4_core.offsets import ClockOffset, SyncState
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.synth.bag import write_bag

IMAGE = "sensor_msgs/msg/Image"
INFO = "sensor_msgs/msg/CameraInfo"


class CountingPipeline:
    """Counts frames per camera; reports every camera locked at offset 0."""

    def __init__(self, cameras: dict, reference: str) -> None:
        self.cameras = cameras
        self.frames: dict[str, int] = {name: 0 for name in cameras}

    def add_frames(self, frames: list[Frame]) -> list:
        for frame in frames:
            self.frames[frame.camera] += 1
        return []

    def finish(self) -> list:
        return []

    def offsets(self) -> dict[str, ClockOffset]:
        return {name: ClockOffset(name, 0.0, 0.0, 0.0, SyncState.LOCKED) for name in self.cameras}


@pytest.fixture
def cli(monkeypatch):
    """Run ``s4`` (this subcommand only) with the counting pipeline; returns the exit code."""
    monkeypatch.setattr(cli_main, "SUBCOMMAND_MODULES", ("s4_core.cli.sync_bag_cmd",))
    monkeypatch.setattr(sync_bag_cmd, "pipeline_factory", lambda config_path: CountingPipeline)
    return lambda *argv: main(["sync-bag", *map(str, argv)])


def image_message(stamp_ns: int, encoding: str = "rgb8", size_wh=(4, 3)) -> object:
    width, height = size_wh
    channels = {"rgb8": 3, "yuv422": 2, "mono8": 1}[encoding]
    return s4_typestore().types[IMAGE](
        header=header_message(stamp_ns, "optical"), height=height, width=width, encoding=encoding,
        is_bigendian=0, step=channels * width, data=np.zeros(channels * width * height, np.uint8),
    )  # fmt: skip


def info_message(stamp_ns: int, fx: float = 10.0) -> object:
    types = s4_typestore().types
    return types[INFO](
        header=header_message(stamp_ns, "optical"), height=3, width=4, distortion_model="plumb_bob",
        d=np.zeros(5), k=np.array([fx, 0, 1.5, 0, fx, 1, 0, 0, 1.0]), r=np.eye(3).reshape(-1), p=np.zeros(12),
        binning_x=0, binning_y=0,
        roi=types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )  # fmt: skip


def write_test_bag(path: Path, topics: dict[str, tuple[str, list[object]]], storage: str = "sqlite3") -> Path:
    """A bag with the given ``{topic: (type, messages)}``, logged 0.1 s apart."""
    with StagedBagWriter(path, storage) as writer:
        for topic, (msgtype, messages) in topics.items():
            connection = writer.add_connection(topic, msgtype)
            for k, message in enumerate(messages):
                writer.write(connection, 1_000_000_000 + k * 100_000_000, serialize(message))
        writer.commit()
    return path


def assert_nothing_left(out: Path) -> None:
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")], "staging left behind"


def test_missing_bag_is_a_one_line_error(cli, tmp_path, capsys):
    assert cli(tmp_path / "nope", "-o", tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("s4 sync-bag: error:") and "nope" in err and "\n" not in err
    assert_nothing_left(tmp_path / "out")


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_truncated_or_damaged_bag_is_an_error_without_output(cli, tmp_path, capsys, storage):
    bag = tmp_path / "rec"
    write_bag(SyntheticWorld(SynthConfig(num_cameras=2, duration_s=0.4, size_wh=(24, 16))), bag, storage=storage)
    (storage_file,) = [p for p in bag.iterdir() if p.suffix in (".mcap", ".db3")]
    data = storage_file.read_bytes()
    storage_file.write_bytes(data[: len(data) // 2])
    assert cli(bag, "-o", tmp_path / "out") == 2
    assert "rec" in capsys.readouterr().err
    assert_nothing_left(tmp_path / "out")
    middle = len(data) // 2
    storage_file.write_bytes(data[:middle] + b"\xff" * 4096 + data[middle + 4096 :])  # damaged inside
    assert cli(bag, "-o", tmp_path / "out") == 2
    assert_nothing_left(tmp_path / "out")


def test_bag_without_cameras_is_an_error(cli, tmp_path, capsys):
    bag = write_test_bag(tmp_path / "rec", {"/cam0/camera_info": (INFO, [info_message(1)])})
    assert cli(bag, "-o", tmp_path / "out") == 2
    assert "no camera" in capsys.readouterr().err
    assert_nothing_left(tmp_path / "out")


def test_a_full_disk_is_a_one_line_error_without_output(cli, tmp_path, capsys, monkeypatch):
    bag = tmp_path / "rec"
    write_bag(SyntheticWorld(SynthConfig(num_cameras=2, duration_s=0.4, size_wh=(24, 16))), bag, storage="mcap")
    written = []

    def write_until_full(self, connection, log_time_ns, data):
        if len(written) == 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(log_time_ns)

    monkeypatch.setattr(StagedBagWriter, "write", write_until_full)
    assert cli(bag, "-o", tmp_path / "out") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("s4 sync-bag: error:") and os.strerror(errno.ENOSPC) in err
    assert_nothing_left(tmp_path / "out")


def test_existing_output_is_an_error_and_left_untouched(cli, tmp_path, capsys):
    bag = write_test_bag(tmp_path / "rec", {"/cam0/image_raw": (IMAGE, [image_message(1)])})
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert cli(bag, "-o", out) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_unknown_encoding_skips_that_camera_with_a_warning(cli, tmp_path, caplog):
    stamps = [1_000_000_000 + k * 33_000_000 for k in range(5)]
    bag = write_test_bag(
        tmp_path / "rec",
        {
            "/good/image_raw": (IMAGE, [image_message(t) for t in stamps]),
            "/good/camera_info": (INFO, [info_message(t) for t in stamps]),
            "/odd/image_raw": (IMAGE, [image_message(t, "yuv422") for t in stamps]),
        },
    )
    result = sync_bag(bag, tmp_path / "out", CountingPipeline)
    assert [c.name for c in result.cameras] == ["good"] and result.frames_per_camera == {"good": 5}
    assert any("odd" in r.message and "yuv422" in r.message for r in caplog.records if r.levelname == "WARNING")
    with Reader(tmp_path / "out") as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
    assert counts["/odd/image_raw"] == 5, "the skipped camera's messages are still copied"
    assert "/s4/synced/odd/image_raw" not in counts and counts["/s4/synced/good/image_raw"] == 5


def test_only_unknown_encodings_is_an_error(cli, tmp_path, capsys):
    bag = write_test_bag(tmp_path / "rec", {"/odd/image_raw": (IMAGE, [image_message(1, "yuv422")])})
    assert cli(bag, "-o", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "no usable camera" in err and "yuv422" in err
    assert_nothing_left(tmp_path / "out")


def test_camera_without_camera_info_is_synced_uncalibrated_with_a_warning(tmp_path, caplog):
    stamps = [1_000_000_000 + k * 33_000_000 for k in range(4)]
    bag = write_test_bag(
        tmp_path / "rec",
        {
            "/a/image_raw": (IMAGE, [image_message(t) for t in stamps]),
            "/a/camera_info": (INFO, [info_message(t) for t in stamps]),
            "/b/image_raw": (IMAGE, [image_message(t) for t in stamps]),
        },
        storage="mcap",
    )
    pipelines = []
    result = sync_bag(bag, tmp_path / "out", lambda c, r: pipelines.append(CountingPipeline(c, r)) or pipelines[-1])
    assert result.frames_per_camera == {"a": 4, "b": 4}
    assert pipelines[0].cameras["b"] is None and pipelines[0].cameras["a"].K[0, 0] == 10.0
    assert any("b has no camera_info" in r.message for r in caplog.records if r.levelname == "WARNING")
    with Reader(tmp_path / "out") as reader:
        topics = {c.topic for c in reader.connections}
    assert "/s4/synced/b/image_raw" in topics and "/s4/synced/b/camera_info" not in topics


def test_bad_camera_option_and_reference_are_errors(cli, tmp_path, capsys):
    bag = write_test_bag(tmp_path / "rec", {"/a/image_raw": (IMAGE, [image_message(1)])})
    assert cli(bag, "-o", tmp_path / "out", "--camera", "a") == 2
    assert "--camera" in capsys.readouterr().err
    assert cli(bag, "-o", tmp_path / "out", "--camera", "a=/missing") == 2
    assert "/missing" in capsys.readouterr().err
    assert cli(bag, "-o", tmp_path / "out", "--reference", "zz") == 2
    assert "zz" in capsys.readouterr().err
    assert_nothing_left(tmp_path / "out")
