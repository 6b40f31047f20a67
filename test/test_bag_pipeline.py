"""``s4 sync-bag`` with the real streaming pipeline on a synthetic recording with known clocks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rosbags.rosbag2 import Reader  # noqa: E402

from s4_core.bagtool.cdr_header import header_stamp_ns  # noqa: E402
from s4_core.bagtool.synced_topics import clock_of, reference_stamp_ns  # noqa: E402
from s4_core.cli import main as cli_main  # noqa: E402
from s4_core.cli.main import main  # noqa: E402
from s4_core.clock import ClockModel  # noqa: E402
from s4_core.offsets import ClockOffset  # noqa: E402
from s4_core.synth import SynthConfig, SyntheticWorld  # noqa: E402
from s4_core.synth.bag import write_bag  # noqa: E402
from s4_core.synth.ground_truth import ground_truth_path, load_ground_truth  # noqa: E402

#: Accuracy asked of the whole chain on this small (160x120, 6 s) recording with depth: within
#: one frame and within three reported stddevs. The benchmark measures the full-size accuracy.
#: Six seconds, because a lock needs two consistent windows and the estimate every 2 s of a
#: 4-s recording gives only two with depth, the first of them with 2 s of tracks.
FRAMES_TOLERANCE = 1.0


@pytest.fixture(scope="module", params=["mcap", "sqlite3"])
def recording(request, tmp_path_factory) -> Path:
    config = SynthConfig(
        num_cameras=3, duration_s=6.0, size_wh=(160, 120), seed=5, offsets_s=(0.0, 0.37, -1.213),
        drift_ppm=(0.0, 0.0, 0.0), with_depth=request.param == "mcap",
    )  # fmt: skip
    out = tmp_path_factory.mktemp("pipeline") / "rec"
    write_bag(SyntheticWorld(config), out, storage=request.param)
    return out


def test_offsets_match_ground_truth_and_synced_stamps_follow_them(recording, tmp_path, monkeypatch):
    monkeypatch.setattr(cli_main, "SUBCOMMAND_MODULES", ("s4_core.cli.sync_bag_cmd",))
    out, result_json = tmp_path / "out", tmp_path / "result.json"
    assert main(["sync-bag", str(recording), "-o", str(out), "--json", str(result_json)]) == 0
    result = json.loads(result_json.read_text())
    gt = load_ground_truth(ground_truth_path(recording))
    assert result["reference_camera"] == gt.reference_camera
    with_depth = gt.config.with_depth
    for name, clock in gt.clocks.items():
        entry = result["cameras"][name]
        if not with_depth and entry["state"] != "locked":
            continue  # RGB-only may stay unresolved; it must never be confidently wrong
        assert entry["state"] == "locked", (name, entry)
        error_s = abs(entry["offset_s"] - clock.offset_s)
        assert error_s <= 3.0 * entry["stddev_s"], (name, entry, clock)
        assert error_s <= FRAMES_TOLERANCE / gt.fps[name], (name, entry, clock)
    with Reader(out) as reader:
        by_topic = {c.topic: c for c in reader.connections}
        for name, entry in result["cameras"].items():
            if entry["state"] != "locked":
                continue
            estimated = clock_of_entry(entry)
            originals = list(reader.messages(connections=[by_topic[f"/{name}/image_raw"]]))
            synced = list(reader.messages(connections=[by_topic[f"/s4/synced/{name}/image_raw"]]))
            expected = [reference_stamp_ns(header_stamp_ns(raw), estimated) for _, _, raw in originals]
            np.testing.assert_array_equal([header_stamp_ns(raw) for _, _, raw in synced], expected)
        assert by_topic["/s4/clock_offsets"].msgcount > 0


def clock_of_entry(entry: dict) -> ClockModel:
    return clock_of(ClockOffset("", entry["offset_s"], entry["stddev_s"], entry["drift_ppm"], t0_s=entry["t0_s"]))
