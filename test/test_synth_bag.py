"""The synthetic bag: stamps follow the clock convention, and it reads back in rosbags and rclpy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rosbags.interfaces import QosDurability
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore
from scipy.spatial.transform import Rotation

from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.synth.bag import write_bag
from s4_core.synth.ground_truth import load_ground_truth

TYPESTORE = get_typestore(Stores.ROS2_KILTED)
CONFIG = SynthConfig(
    num_cameras=2,
    duration_s=1.5,
    seed=5,
    size_wh=(48, 36),
    fps=(30.0, 25.0),
    offsets_s=(0.0, -2.3456789),
    drift_ppm=(0.0, 45.0),
    drop_rate=0.2,
)


@pytest.fixture(scope="module")
def world() -> SyntheticWorld:
    return SyntheticWorld(CONFIG)


@pytest.fixture(scope="module", params=["mcap", "sqlite3"])
def recording(request, world, tmp_path_factory) -> tuple[Path, dict[str, list]]:
    """The bag of ``world`` and its messages by topic: (log_ns, connection, raw bytes)."""
    out = tmp_path_factory.mktemp(request.param) / "scene"
    write_bag(world, out, storage=request.param)
    by_topic: dict[str, list] = {}
    assert f"storage_identifier: {request.param}" in (out / "metadata.yaml").read_text()
    with Reader(out) as reader:
        for connection, log_ns, raw in reader.messages():
            by_topic.setdefault(connection.topic, []).append((log_ns, connection, bytes(raw)))
    return out, by_topic


def _stamp_ns(message) -> int:
    return message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec


def test_bag_and_ground_truth_sit_side_by_side(recording):
    out, by_topic = recording
    assert out.with_name("scene.gt.json").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["scene", "scene.gt.json"]  # no staging left
    expected = {"/tf_static"} | {f"/cam{i}/{t}" for i in range(2) for t in ("image_raw", "camera_info", "depth/image_raw")}
    assert set(by_topic) == expected


def test_header_stamps_follow_the_clock_convention_within_a_microsecond(recording, world):
    """stamp = capture + offset + drift * 1e-6 * (stamp - t0), with GT values from the JSON."""
    out, by_topic = recording
    truth = json.loads(out.with_name("scene.gt.json").read_text())
    t0_s = truth["t0_s"]
    for i, name in enumerate(("cam0", "cam1")):
        entry = truth["cameras"][name]
        assert (entry["offset_s"], entry["drift_ppm"]) == (CONFIG.offsets_s[i], CONFIG.drift_ppm[i])
        images = by_topic[f"/{name}/image_raw"]
        stamps_ns = np.array([_stamp_ns(TYPESTORE.deserialize_cdr(raw, c.msgtype)) for _, c, raw in images])
        capture_s = world.frame_times(i).capture_s
        assert len(stamps_ns) == len(capture_s) == entry["num_frames"]
        stamp_s = (stamps_ns - 1_700_000_000_000_000_000) / 1e9 + 1.7e9  # exact integer part first
        residual_s = stamp_s - capture_s - entry["offset_s"] - entry["drift_ppm"] * 1e-6 * (stamp_s - t0_s)
        assert np.max(np.abs(residual_s)) < 1e-6
        # frame count: fps * duration minus drops (the stamp grid has exactly those gaps)
        period_ns = 1e9 / entry["fps"]
        grid_steps = np.round(np.diff(stamps_ns) / period_ns)
        assert np.max(np.abs(np.diff(stamps_ns) - grid_steps * period_ns)) <= 2
        nominal = entry["num_frames"] + entry["num_dropped"]
        assert abs(nominal - entry["fps"] * CONFIG.duration_s) <= 1
        assert entry["num_dropped"] > 0 and int(grid_steps.sum()) + 1 <= nominal
        # log time: capture plus a few milliseconds of transport
        latency_s = np.array([log_ns for log_ns, _, _ in images]) / 1e9 - capture_s
        assert np.all((latency_s > 0.0039) & (latency_s < 0.0061))


def test_images_and_depth_hold_the_rendered_frames(recording, world):
    _, by_topic = recording
    for i, name in enumerate(("cam0", "cam1")):
        frames = list(world.frames(i))
        images = [TYPESTORE.deserialize_cdr(raw, c.msgtype) for _, c, raw in by_topic[f"/{name}/image_raw"]]
        depths = [TYPESTORE.deserialize_cdr(raw, c.msgtype) for _, c, raw in by_topic[f"/{name}/depth/image_raw"]]
        for frame, image, depth in zip(frames, images, depths, strict=True):
            assert (image.encoding, image.header.frame_id, _stamp_ns(image)) == ("rgb8", f"{name}_optical_frame", frame.stamp_ns)
            np.testing.assert_array_equal(image.data.reshape(image.height, image.width, 3), frame.rgb)
            assert depth.encoding == "32FC1" and _stamp_ns(depth) == frame.stamp_ns
            np.testing.assert_array_equal(depth.data.view("<f4").reshape(depth.height, depth.width), frame.depth_m)


def test_images_deserialize_with_real_rclpy(recording, world):
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo, Image

    _, by_topic = recording
    frames = list(world.frames(1))
    for (_, _, raw), frame in zip(by_topic["/cam1/image_raw"][:3], frames):
        image = deserialize_message(raw, Image)
        assert (image.width, image.height, image.encoding) == (48, 36, "rgb8")
        assert image.header.stamp.sec * 1_000_000_000 + image.header.stamp.nanosec == frame.stamp_ns
        np.testing.assert_array_equal(np.frombuffer(image.data, np.uint8).reshape(36, 48, 3), frame.rgb)
    info = deserialize_message(by_topic["/cam1/camera_info"][0][2], CameraInfo)
    np.testing.assert_allclose(np.reshape(info.k, (3, 3)), world.cameras[1].K)
    assert info.distortion_model == "plumb_bob" and not np.any(info.d)


def test_tf_static_gives_every_camera_pose_and_is_latched(recording, world):
    _, by_topic = recording
    [(log_ns, connection, raw)] = by_topic["/tf_static"]
    assert [q.durability for q in connection.ext.offered_qos_profiles] == [QosDurability.TRANSIENT_LOCAL]
    transforms = TYPESTORE.deserialize_cdr(raw, connection.msgtype).transforms
    assert [t.child_frame_id for t in transforms] == ["cam0_optical_frame", "cam1_optical_frame"]
    for transform, camera in zip(transforms, world.cameras):
        assert transform.header.frame_id == "world"
        q = transform.transform.rotation
        rotation = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
        v = transform.transform.translation
        np.testing.assert_allclose(rotation, camera.world_from_camera[:3, :3], atol=1e-12)
        np.testing.assert_allclose([v.x, v.y, v.z], camera.world_from_camera[:3, 3])
    first_image_ns = min(log_ns for topic, msgs in by_topic.items() if topic != "/tf_static" for log_ns, _, _ in msgs)
    assert log_ns <= first_image_ns


def test_ground_truth_reads_back(recording, world):
    out, _ = recording
    truth = load_ground_truth(out.with_name("scene.gt.json"))
    assert truth.reference_camera == "cam0" and truth.t0_s == world.t0_s
    assert truth.clocks == world.clocks
    assert truth.config == CONFIG
    for camera in world.cameras:
        np.testing.assert_array_equal(truth.cameras[camera.name].world_from_camera, camera.world_from_camera)
        np.testing.assert_array_equal(truth.cameras[camera.name].K, camera.K)


def test_a_failure_while_writing_leaves_nothing_behind(tmp_path):
    world = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=0.3, size_wh=(16, 12)))
    real_frames = world.frames

    def failing_frames(i):
        yield next(real_frames(i))
        raise RuntimeError("renderer crashed")

    world.frames = failing_frames
    with pytest.raises(RuntimeError, match="renderer crashed"):
        write_bag(world, tmp_path / "scene")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_destination_is_never_overwritten(tmp_path):
    (tmp_path / "scene").mkdir()
    with pytest.raises(ValueError, match="already exists"):
        write_bag(SyntheticWorld(SynthConfig(num_cameras=1, duration_s=0.1, size_wh=(16, 12))), tmp_path / "scene")
    assert [p.name for p in tmp_path.iterdir()] == ["scene"] and not any((tmp_path / "scene").iterdir())
