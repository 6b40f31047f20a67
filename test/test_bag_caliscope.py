"""The real caliscope session (four webcams) written into a bag and synced.

One camera's header stamps are shifted by a known number of frames; its log times stay the
host capture times, as when a camera's clock is off but the recorder's is not.
"""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import Reader

from s4_core.bagtool import sync_bag
from s4_core.bagtool.caliscope import SESSION_EPOCH_S, TIMESTAMPS_CSV, CaliscopeBagConfig, write_caliscope_bag
from s4_core.bagtool.cdr_header import header_stamp_ns
from s4_core.camera import invert_rigid
from s4_core.clock import seconds_to_ns
from s4_core.frames import Frame
from s4_core.offsets import ClockOffset, SyncState

SESSION = Path("/work/shared/data/caliscope_charuco_4cam")
SHIFTED_CAMERA = "cam_2"
SHIFT_FRAMES = 3
#: The session's own offsets (image content behind its host stamp), in frames, before any shift.
#: Measured independently of s4's sync: the ChArUco corners detected in each camera (same corner
#: ids, undistorted with the session's calibration) give epipolar residuals against cam_0 that
#: are smallest at these sub-frame lags (cam_1 +0.5: its images lag its stamps by half a frame,
#: so "cam_1 within half a frame of zero" would be a coin toss even for an exact estimator).
SESSION_OFFSET_FRAMES = {"cam_0": 0.0, "cam_1": 0.5, "cam_2": -0.125, "cam_3": -0.125}

pytestmark = pytest.mark.skipif(not SESSION.exists(), reason=f"real data not found at {SESSION}")


@pytest.fixture(scope="module")
def caliscope_bag(tmp_path_factory):
    config = CaliscopeBagConfig(size_wh=(320, 180), compressed=True, shift_frames={SHIFTED_CAMERA: SHIFT_FRAMES})
    return write_caliscope_bag(SESSION, tmp_path_factory.mktemp("caliscope") / "rec", config)


def host_times_ns() -> dict[str, np.ndarray]:
    """Per camera the host capture times of the session, as absolute nanoseconds."""
    times: dict[str, list[tuple[int, float]]] = {}
    with open(SESSION / TIMESTAMPS_CSV, newline="") as handle:
        for row in csv.DictReader(handle):
            times.setdefault(f"cam_{row['cam_id']}", []).append((int(row["frame_index"]), float(row["frame_time"])))
    return {name: seconds_to_ns(SESSION_EPOCH_S + np.array([t for _, t in sorted(v)])) for name, v in times.items()}


def messages(bag: Path, topic: str) -> list[tuple[int, bytes]]:
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        return [(log_ns, bytes(raw)) for _, log_ns, raw in reader.messages(connections=connections)]


class FramesAndOffsets:
    """Keeps the frames; reports the shift it was built with as the offset."""

    def __init__(self, cameras: dict, reference: str, shift_s: dict[str, float]) -> None:
        self.cameras, self.reference, self.shift_s, self.frames = cameras, reference, shift_s, []

    def add_frames(self, frames: list[Frame]) -> list:
        self.frames += frames
        return []

    def finish(self) -> list:
        return []

    def offsets(self) -> dict[str, ClockOffset]:
        return {n: ClockOffset(n, self.shift_s[n], 1e-3, 0.0, SyncState.LOCKED) for n in self.cameras}


def test_bag_holds_the_session_with_shifted_stamps(caliscope_bag):
    assert caliscope_bag.num_frames == {f"cam_{i}": 111 for i in range(4)}
    assert caliscope_bag.frame_period_s[SHIFTED_CAMERA] == pytest.approx(1 / 6, abs=2e-3)
    for name, host_ns in host_times_ns().items():
        images = messages(caliscope_bag.path, f"/{name}/image_raw/compressed")
        np.testing.assert_array_equal([log for log, _ in images], host_ns)
        shift_ns = seconds_to_ns(caliscope_bag.shift_s[name])
        assert shift_ns == (seconds_to_ns(SHIFT_FRAMES * caliscope_bag.frame_period_s[name]) if name == SHIFTED_CAMERA else 0)
        np.testing.assert_array_equal([header_stamp_ns(raw) for _, raw in images], host_ns + shift_ns)


def test_sync_reads_real_calibration_and_restamps_to_host_time(caliscope_bag, tmp_path):
    built = []

    def factory(cameras, reference):
        built.append(FramesAndOffsets(cameras, reference, caliscope_bag.shift_s))
        return built[-1]

    result = sync_bag(caliscope_bag.path, tmp_path / "out", factory)
    pipeline = built[0]
    assert pipeline.reference == "cam_0" and result.world_frame == "world"
    assert result.frames_per_camera == caliscope_bag.num_frames
    assert {f.rgb.shape for f in pipeline.frames} == {(180, 320, 3)}
    calibration = tomllib.loads((SESSION / "camera_array.toml").read_text())["cameras"]
    for cam_id, entry in calibration.items():
        model = pipeline.cameras[f"cam_{cam_id}"]
        camera_from_world = np.eye(4)
        camera_from_world[:3, :3], camera_from_world[:3, 3] = entry["rotation"], entry["translation"]
        np.testing.assert_allclose(model.world_from_camera, invert_rigid(camera_from_world), atol=1e-9)
        np.testing.assert_allclose(model.K[0, 0], entry["matrix"][0][0] / 4, rtol=1e-12)
    for name, host_ns in host_times_ns().items():
        synced = messages(tmp_path / "out", f"/s4/synced/{name}/image_raw/compressed")
        np.testing.assert_array_equal([header_stamp_ns(raw) for _, raw in synced], host_ns)


def test_real_pipeline_recovers_a_three_frame_shift_within_half_a_frame(caliscope_bag, tmp_path):
    from s4_core.bagtool import pipeline_factory

    result = sync_bag(caliscope_bag.path, tmp_path / "out", pipeline_factory())
    for name in ("cam_1", SHIFTED_CAMERA, "cam_3"):
        estimate, period_s = result.offsets[name], caliscope_bag.frame_period_s[name]
        true_s = caliscope_bag.shift_s[name] + SESSION_OFFSET_FRAMES[name] * period_s
        assert SyncState(estimate.state) == SyncState.LOCKED, estimate
        assert abs(estimate.offset_s - true_s) < period_s / 2, estimate
