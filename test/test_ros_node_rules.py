"""The small rules the nodes add around the core: restamping, staleness, pairing, rig files."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rclpy")

from s4_core.clock import ClockModel, seconds_to_ns  # noqa: E402
from s4_core.frames import Frame  # noqa: E402
from s4_core.offsets import ClockOffset, SyncState  # noqa: E402
from s4_core.tracks import TrackSet  # noqa: E402
from s4_ros.exact_time_pairing import ExactTimePairing  # noqa: E402
from s4_ros.rig import load_rig  # noqa: E402
from s4_ros.splat_node import track_colours  # noqa: E402
from s4_ros.outputs import offset_with_staleness  # noqa: E402
from s4_ros.restamping import capture_stamp_ns  # noqa: E402
from s4_ros.tracker_node import TrackerNodeConfig  # noqa: E402


def test_restamping_subtracts_the_offset():
    """cam1 stamps 37 ms ahead of the reference: its frame stamped t was captured at t - 37 ms."""
    stamp_ns = 1_700_000_000_500_000_000
    offset = ClockOffset("cam1", 0.037, 1e-4, state=SyncState.LOCKED)
    assert capture_stamp_ns(stamp_ns, offset) == stamp_ns - 37_000_000


def test_restamping_follows_the_drift_of_the_clock_model():
    offset = ClockOffset("cam1", -0.2, 1e-4, drift_ppm=50.0, state=SyncState.LOCKED, t0_s=1_700_000_000.0)
    stamp_ns = seconds_to_ns(1_700_000_100.0)  # 100 s after t0: 5 ms of drift
    expected = ClockModel(-0.2, 50.0, 1_700_000_000.0).capture_time(1_700_000_100.0)
    assert capture_stamp_ns(stamp_ns, offset) == stamp_ns + 200_000_000 - 5_000_000
    assert abs(capture_stamp_ns(stamp_ns, offset) / 1e9 - expected) < 1e-6


def test_silent_camera_is_lost_with_a_reason():
    locked = ClockOffset("cam1", 0.1, 1e-3, state=SyncState.LOCKED)
    assert offset_with_staleness(locked, 1.0, 3.0, "tracks") is locked
    assert offset_with_staleness(locked, None, 3.0, "tracks") is locked  # never heard of yet: the core decides
    lost = offset_with_staleness(locked, 4.25, 3.0, "tracks")
    assert lost.state is SyncState.LOST and lost.reason == "no tracks for 4.2 s" and lost.offset_s == 0.1


def test_exact_time_pairing_in_either_order_and_bounded():
    pairing: ExactTimePairing[str, str] = ExactTimePairing(max_waiting=2)
    assert pairing.add_first(10, "image10") is None
    assert pairing.add_second(10, "depth10") == ("image10", "depth10")
    assert pairing.add_second(20, "depth20") is None
    assert pairing.add_first(20, "image20") == ("image20", "depth20")
    for stamp in (30, 40, 50):  # no depth ever comes: the oldest waiting image is dropped
        assert pairing.add_first(stamp, f"image{stamp}") is None
    assert pairing.dropped == 1
    assert pairing.add_second(30, "depth30") is None  # image30 was dropped
    assert pairing.add_second(50, "depth50") == ("image50", "depth50")


def test_rig_file_errors_name_the_problem(tmp_path):
    path = tmp_path / "rig.yaml"
    cases = {
        "cameras: []": "no cameras listed",
        "cameras: [{name: cam0, image_topic: /a}]": "camera 0: missing 'info_topic'",
        "cameras: [{name: cam-0, image_topic: /a, info_topic: /b}]": "must be letters, digits and underscores",
        "cameras: [{name: c, image_topic: /a, info_topic: /b, world_from_camera: [1, 2]}]": "needs 16 numbers, got 2",
        "reference_camera: x\ncameras: [{name: c, image_topic: /a, info_topic: /b}]": "reference_camera 'x' is not one of",
        "cameras: [{name: c, image_topic: /a, info_topic: /b}, {name: c, image_topic: /d, info_topic: /e}]": "unique",
    }
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(ValueError, match=message):
            load_rig(path)


def test_tracker_config_checks_extrinsics_and_reliability():
    assert TrackerNodeConfig(world_from_camera=tuple(np.eye(4).ravel())).extrinsics.shape == (4, 4)
    assert TrackerNodeConfig().extrinsics is None
    with pytest.raises(ValueError, match="16 numbers"):
        TrackerNodeConfig(world_from_camera=(1.0, 2.0))
    with pytest.raises(ValueError, match="reliability must be one of reliable, best_effort"):
        TrackerNodeConfig(reliability="sometimes")


def test_splat_colours_come_from_the_frame_the_tracks_saw():
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[1, 2] = (255, 0, 51)
    tracks = TrackSet(
        camera="cam0", track_ids=np.array([7, 8]), stamps_ns=np.array([100, 200]),
        uv=np.array([[[0, 0], [0, 0]], [[2.2, 0.9], [np.nan, np.nan]]], np.float32),
        visible=np.array([[True, True], [True, False]]), xyz=None, descriptors=np.zeros((2, 0), np.float32),
        confidence=np.ones((2, 2), np.float32),
    )  # fmt: skip
    colours = track_colours(tracks, Frame("cam0", 200, rgb))
    np.testing.assert_allclose(colours[0], [1.0, 0.0, 0.2])
    np.testing.assert_allclose(colours[1], [0.5, 0.5, 0.5])  # not seen in that frame: grey
    np.testing.assert_allclose(track_colours(tracks, Frame("cam0", 999, rgb)), 0.5)  # no matching frame
