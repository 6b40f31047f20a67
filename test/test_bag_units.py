"""Unit tests of the bag tool's parts: camera discovery, header re-stamping, depth pairing."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pytest

from s4_core.bagtool.cdr_header import header_stamp_ns, with_header_stamp
from s4_core.bagtool.depth_pairing import DepthPairer, DepthPairingConfig
from s4_core.bagtool.discovery import (
    CAMERA_INFO_TYPE,
    COMPRESSED_IMAGE_TYPE,
    IMAGE_TYPE,
    CameraOverride,
    CameraTopics,
    cameras_from_overrides,
    discover_cameras,
)
from s4_core.bagtool.pipeline_binding import dataclass_from_mapping
from s4_core.bagtool.progress import ProgressBar, format_progress
from s4_core.bagtool.ros_messages import header_message, serialize, splat_cloud_message
from s4_core.bagtool.sync import SyncProgress
from s4_core.bagtool.typestore import s4_typestore

TF = "tf2_msgs/msg/TFMessage"


def test_discovers_synth_layout_with_depth_and_info():
    topics = {
        "/cam0/image_raw": IMAGE_TYPE, "/cam0/camera_info": CAMERA_INFO_TYPE, "/cam0/depth/image_raw": IMAGE_TYPE,
        "/cam1/image_raw": IMAGE_TYPE, "/cam1/camera_info": CAMERA_INFO_TYPE, "/tf_static": TF,
    }  # fmt: skip
    assert discover_cameras(topics) == [
        CameraTopics("cam0", "/cam0/image_raw", IMAGE_TYPE, "/cam0/camera_info", "/cam0/depth/image_raw"),
        CameraTopics("cam1", "/cam1/image_raw", IMAGE_TYPE, "/cam1/camera_info", None),
    ]


def test_discovers_realsense_layout_preferring_aligned_depth():
    topics = {
        "/rig/left/color/image_raw": IMAGE_TYPE,
        "/rig/left/color/camera_info": CAMERA_INFO_TYPE,
        "/rig/left/depth/image_rect_raw": IMAGE_TYPE,
        "/rig/left/depth/camera_info": CAMERA_INFO_TYPE,
        "/rig/left/aligned_depth_to_color/image_raw": IMAGE_TYPE,
    }
    (camera,) = discover_cameras(topics)
    assert camera == CameraTopics(
        "rig_left", "/rig/left/color/image_raw", IMAGE_TYPE, "/rig/left/color/camera_info",
        "/rig/left/aligned_depth_to_color/image_raw",
    )  # fmt: skip


def test_compressed_transport_names_the_camera_by_its_base_topic_and_raw_wins():
    topics = {
        "/a/image_raw/compressed": COMPRESSED_IMAGE_TYPE,
        "/a/camera_info": CAMERA_INFO_TYPE,
        "/b/image_raw/compressed": COMPRESSED_IMAGE_TYPE,
        "/b/image_raw": IMAGE_TYPE,
    }
    cameras = discover_cameras(topics)
    assert [(c.name, c.image_topic, c.info_topic) for c in cameras] == [
        ("a", "/a/image_raw/compressed", "/a/camera_info"),
        ("b", "/b/image_raw", None),
    ]


def test_no_image_topics_means_no_cameras():
    assert discover_cameras({"/tf_static": TF, "/cam0/depth/image_raw": IMAGE_TYPE}) == []


def test_camera_override_parses_and_fills_the_rest_by_convention():
    topics = {"/x/img": IMAGE_TYPE, "/x/camera_info": CAMERA_INFO_TYPE, "/x/depth": IMAGE_TYPE, "/y/info": CAMERA_INFO_TYPE}
    override = CameraOverride.parse("front=/x/img,info=/y/info")
    assert override == CameraOverride("front", "/x/img", "/y/info", None)
    (camera,) = cameras_from_overrides([override], topics)
    assert camera == CameraTopics("front", "/x/img", IMAGE_TYPE, "/y/info", "/x/depth")


@pytest.mark.parametrize("text", ["front", "=/x", "front=", "front=/x,info", "front=/x,colour=/c", "a=/x,info=/i,info=/j"])
def test_camera_override_rejects_malformed_text(text):
    with pytest.raises(ValueError, match="--camera"):
        CameraOverride.parse(text)


def test_camera_override_rejects_missing_and_mistyped_topics():
    topics = {"/x/img": IMAGE_TYPE, "/x/camera_info": CAMERA_INFO_TYPE}
    with pytest.raises(ValueError, match="not in the recording"):
        cameras_from_overrides([CameraOverride("a", "/nope")], topics)
    with pytest.raises(ValueError, match="expected"):
        cameras_from_overrides([CameraOverride("a", "/x/camera_info")], topics)
    with pytest.raises(ValueError, match="repeat"):
        cameras_from_overrides([CameraOverride("a", "/x/img"), CameraOverride("a", "/x/img")], topics)


@pytest.mark.parametrize("stamp_ns", [1_700_000_123_456_789_012, 0, 5, -1_500_000_000])
def test_restamp_rewrites_only_the_header_stamp(stamp_ns):
    typestore = s4_typestore()
    image = typestore.types[IMAGE_TYPE](
        header=header_message(1_234_567_890_123, "cam0_optical_frame"), height=2, width=3, encoding="rgb8",
        is_bigendian=0, step=9, data=np.arange(18, dtype=np.uint8),
    )  # fmt: skip
    raw = typestore.serialize_cdr(image, IMAGE_TYPE)
    assert header_stamp_ns(raw) == 1_234_567_890_123
    restamped = with_header_stamp(raw, stamp_ns)
    assert header_stamp_ns(restamped) == stamp_ns
    back = typestore.deserialize_cdr(restamped, IMAGE_TYPE)
    assert back.header.stamp.sec * 1_000_000_000 + back.header.stamp.nanosec == stamp_ns
    assert back.header.frame_id == "cam0_optical_frame" and back.encoding == "rgb8"
    np.testing.assert_array_equal(back.data, image.data)
    assert restamped[12:] == bytes(raw[12:])


def _rgb(value: int) -> np.ndarray:
    return np.full((2, 3, 3), value, np.uint8)


def _depth(value: float) -> np.ndarray:
    return np.full((2, 3), value, np.float32)


def test_depth_pairing_joins_by_stamp_whichever_comes_first():
    pairer = DepthPairer({"c": None}, {"c"}, DepthPairingConfig(tolerance_ns=10, max_pending=4))
    assert pairer.add_image("c", 100, _rgb(1)) == []
    (first,) = pairer.add_depth("c", 105, _depth(1.0))
    assert first.stamp_ns == 100 and first.depth_m[0, 0] == 1.0
    assert pairer.add_depth("c", 200, _depth(2.0)) == []
    (second,) = pairer.add_image("c", 200, _rgb(2))
    assert second.depth_m[0, 0] == 2.0 and second.rgb[0, 0, 0] == 2
    assert pairer.unpaired_images == 0


def test_depth_pairing_releases_images_in_order_and_bounded():
    pairer = DepthPairer({"c": None, "d": None}, {"c"}, DepthPairingConfig(tolerance_ns=0, max_pending=2))
    (plain,) = pairer.add_image("d", 5, _rgb(9))
    assert plain.camera == "d" and plain.depth_m is None
    released = []
    for stamp in (10, 20, 30, 40):
        released += pairer.add_image("c", stamp, _rgb(stamp))
    assert [f.stamp_ns for f in released] == [10, 20]
    released = pairer.add_depth("c", 40, _depth(4.0))
    assert [(f.stamp_ns, f.depth_m is not None) for f in released] == [(30, False), (40, True)]
    assert pairer.flush() == [] and pairer.unpaired_images == 3


def test_progress_line_shows_percent_rate_speed_and_eta():
    progress = SyncProgress("sync", messages_done=300, recording_done_s=5.0, recording_s=20.0)
    line = format_progress(progress, wall_s=2.0)
    assert " 25.0%" in line and "300 msgs 150/s" in line and "2.50x real time" in line and "ETA 00:06" in line


def test_progress_bar_is_silent_off_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar(stream, interactive=False)
    bar(SyncProgress("sync", 1, 1.0, 2.0))
    bar.close()
    assert stream.getvalue() == ""
    bar = ProgressBar(stream, interactive=True, min_interval_s=0.0)
    bar(SyncProgress("sync", 1, 1.0, 2.0))
    bar.close()
    assert stream.getvalue().startswith("\rsync") and stream.getvalue().endswith("\n")


@dataclass(frozen=True)
class _Inner:
    rate_hz: float = 1.0
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Outer:
    window_s: float = 2.0
    inner: _Inner = _Inner()


def test_config_mapping_overrides_nested_defaults_and_rejects_unknown_keys():
    config = dataclass_from_mapping(_Outer, {"inner": {"names": ["a", "b"]}})
    assert config == _Outer(window_s=2.0, inner=_Inner(rate_hz=1.0, names=("a", "b")))
    with pytest.raises(ValueError, match=r"config\.inner: unknown setting\(s\) rate"):
        dataclass_from_mapping(_Outer, {"inner": {"rate": 3}})


def test_splat_cloud_message_carries_every_gaussian():
    from s4_core.splat.export import GaussianSnapshot

    n = 3
    snapshot = GaussianSnapshot(
        t_s=1.0, means=np.arange(3 * n, dtype=np.float32).reshape(n, 3), quats=np.tile([1, 0, 0, 0], (n, 1)).astype(np.float32),
        scales=np.full((n, 3), 0.01, np.float32), opacities=np.array([0.1, 0.5, 0.9], np.float32),
        colours=np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32),
    )  # fmt: skip
    raw = serialize(splat_cloud_message(snapshot, 2_000_000_000, "world"))
    cloud = s4_typestore().deserialize_cdr(raw, "sensor_msgs/msg/PointCloud2")
    assert (cloud.width, cloud.height, cloud.header.frame_id) == (n, 1, "world")
    offsets = {f.name: f.offset for f in cloud.fields}
    points = np.frombuffer(bytes(cloud.data), np.uint8).reshape(n, cloud.point_step)
    xyz = np.stack([points[:, offsets[k] : offsets[k] + 4].copy().view("<f4")[:, 0] for k in "xyz"], axis=1)
    np.testing.assert_array_equal(xyz, snapshot.means)
    opacity = points[:, offsets["opacity"] : offsets["opacity"] + 4].copy().view("<f4")[:, 0]
    np.testing.assert_array_equal(opacity, snapshot.opacities)
