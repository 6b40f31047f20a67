"""Message conversions of s4_ros: images against rosbags-image, and round trips of every type."""

from __future__ import annotations

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from rosbags.image import message_to_cvimage  # noqa: E402
from rosbags.typesys import Stores, get_typestore  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from s4_core.camera import PinholeCamera, intrinsics_from_fov, look_at  # noqa: E402
from s4_core.correspondences import Correspondences  # noqa: E402
from s4_core.imaging import SUPPORTED_ENCODINGS, from_depth_m, layout_of  # noqa: E402
from s4_core.offsets import ClockOffset, SyncState  # noqa: E402
from s4_core.splat.export import GaussianSnapshot, ellipsoid_markers, pointcloud_array  # noqa: E402
from s4_core.tracks import TrackSet  # noqa: E402
from s4_ros.camera_info import (  # noqa: E402
    CalibrationChanges,
    camera_info_msg,
    distortion_warning,
    pinhole_from_camera_info,
)
from s4_ros.image_messages import compressed_image_msg, decode_image_msg, frame_from_msgs, image_msg  # noqa: E402
from s4_ros.markers import scaffold_polylines, splat_ellipsoids, track_polylines  # noqa: E402
from s4_ros.point_clouds import TRACK_POINT_DTYPE, array_from_point_cloud, latest_track_points, point_cloud_msg  # noqa: E402
from s4_ros.s4_messages import (  # noqa: E402
    clock_offsets_from_msg,
    clock_offsets_msg,
    correspondences_from_msg,
    correspondences_msg,
    track_set_from_msg,
    track_set_msg,
)

TYPESTORE = get_typestore(Stores.ROS2_KILTED)
HEADER = Header(frame_id="cam0_optical")
HEADER.stamp.sec, HEADER.stamp.nanosec = 1_700_000_001, 250_000_000


def _over_the_wire(msg):
    """The message as rclpy would receive it (CDR round trip)."""
    return deserialize_message(serialize_message(msg), type(msg))


def _as_rosbags(msg, type_name: str):
    """The same CDR bytes read by rosbags, as the offline bag tool sees them."""
    return TYPESTORE.deserialize_cdr(serialize_message(msg), type_name)


def _pixels(encoding: str, rng) -> np.ndarray:
    layout = layout_of(encoding)
    shape = layout.shape(9, 13)
    if layout.dtype == np.float32:
        return rng.uniform(0.1, 5.0, shape).astype(np.float32)
    return rng.integers(0, np.iinfo(layout.dtype).max, shape, endpoint=True).astype(layout.dtype)


@pytest.mark.parametrize("encoding", list(SUPPORTED_ENCODINGS))
@pytest.mark.parametrize("pad", [0, 5])
def test_image_messages_decode_like_rosbags_image(encoding, pad, rng):
    pixels = _pixels(encoding, rng)
    step = 13 * layout_of(encoding).bytes_per_pixel + pad
    msg = _over_the_wire(image_msg(pixels, encoding, HEADER, step=step))
    assert msg.step == step and len(msg.data) == step * 9
    decoded = decode_image_msg(msg)
    assert decoded.encoding == encoding
    np.testing.assert_array_equal(decoded.pixels, pixels)
    if pad == 0:  # rosbags-image ignores step, so it can only read unpadded rows
        np.testing.assert_array_equal(decoded.pixels, message_to_cvimage(_as_rosbags(msg, "sensor_msgs/msg/Image")))


@pytest.mark.parametrize("codec", ["jpeg", "png"])
def test_compressed_messages_decode_like_rosbags_image(codec, rng):
    pixels = _pixels("rgb8", rng)
    msg = _over_the_wire(compressed_image_msg(pixels, "rgb8", HEADER, codec))
    assert msg.format == f"rgb8; {codec} compressed bgr8"
    decoded = decode_image_msg(msg)
    expected = message_to_cvimage(_as_rosbags(msg, "sensor_msgs/msg/CompressedImage"), "rgb8")
    np.testing.assert_array_equal(decoded.pixels, expected)


def _camera() -> PinholeCamera:
    K = intrinsics_from_fov(13, 9, 60.0)
    return PinholeCamera("cam0", 13, 9, K, look_at(np.array([2.0, 0.0, 1.0]), np.zeros(3)))


def test_frame_from_image_and_16uc1_depth(rng):
    rgb = _pixels("rgb8", rng)
    depth_m = rng.uniform(0.5, 3.0, (9, 13)).astype(np.float32)
    depth_m[0, 0] = np.nan
    depth = image_msg(from_depth_m(depth_m, "16UC1"), "16UC1", HEADER)
    bgr = _over_the_wire(image_msg(rgb[..., ::-1].copy(), "bgr8", HEADER))
    frame = frame_from_msgs("cam0", bgr, _over_the_wire(depth), _camera())
    assert frame.stamp_ns == 1_700_000_001_250_000_000
    np.testing.assert_array_equal(frame.rgb, rgb)
    assert np.isnan(frame.depth_m[0, 0])
    np.testing.assert_allclose(frame.depth_m[1:], depth_m[1:], atol=5e-4)


def test_frame_from_mono_replicates_channels(rng):
    mono = _pixels("mono8", rng)
    frame = frame_from_msgs("cam0", image_msg(mono, "mono8", HEADER))
    assert frame.rgb.shape == (9, 13, 3) and all(np.array_equal(frame.rgb[..., c], mono) for c in range(3))


def test_malformed_image_is_a_value_error():
    bad = Image(header=HEADER, height=9, width=13, encoding="rgb8", step=39, data=bytes(100))
    with pytest.raises(ValueError, match="needs 351 bytes, got 100"):
        frame_from_msgs("cam0", bad)


def test_camera_info_round_trip():
    camera = _camera()
    msg = _over_the_wire(camera_info_msg(camera, HEADER))
    back = pinhole_from_camera_info(msg, "cam0", camera.world_from_camera)
    assert (back.width, back.height) == (13, 9)
    np.testing.assert_allclose(back.K, camera.K)
    np.testing.assert_allclose(back.world_from_camera, camera.world_from_camera)
    assert distortion_warning(msg) is None


def test_only_a_changed_calibration_is_converted():
    camera, changes = _camera(), CalibrationChanges()
    later = Header(frame_id=HEADER.frame_id)
    later.stamp.sec, later.stamp.nanosec = HEADER.stamp.sec + 7, 123
    first = changes.new_calibration(serialize_message(camera_info_msg(camera, HEADER)))
    np.testing.assert_allclose(pinhole_from_camera_info(first, "cam0").K, camera.K)
    assert changes.new_calibration(serialize_message(camera_info_msg(camera, later))) is None  # same, restamped
    refocused = camera_info_msg(camera, later)
    refocused.k[0] += 1.0
    assert changes.new_calibration(serialize_message(refocused)).k[0] == camera.K[0, 0] + 1.0


def test_distortion_is_reported_not_dropped_silently():
    msg = camera_info_msg(_camera(), HEADER)
    msg.d = [0.1, -0.02, 0.0, 0.0, 0.0]
    assert "plumb_bob distortion" in distortion_warning(msg)
    msg.distortion_model, msg.d = "equidistant", [0.3, 0.0, 0.0, 0.0]
    assert "'equidistant' is not supported" in distortion_warning(msg)


def test_uncalibrated_camera_info_is_rejected():
    with pytest.raises(ValueError, match="K is all zeros"):
        pinhole_from_camera_info(CameraInfo(width=13, height=9), "cam0")


def _tracks(rng, with_xyz: bool = True) -> TrackSet:
    T, N, D = 4, 6, 3
    xyz = rng.normal(size=(T, N, 3)).astype(np.float32)
    visible = rng.random((T, N)) > 0.3
    visible[:, 0] = True
    return TrackSet(
        camera="cam1", track_ids=np.arange(10, 10 + N, dtype=np.int64), stamps_ns=np.array([5, 10, 20, 40], np.int64),
        uv=rng.uniform(0, 100, (T, N, 2)).astype(np.float32), visible=visible, xyz=xyz if with_xyz else None,
        descriptors=rng.normal(size=(N, D)).astype(np.float32), confidence=rng.random((T, N)).astype(np.float32),
        world_frame="world" if with_xyz else "",
    )  # fmt: skip


@pytest.mark.parametrize("with_xyz", [True, False])
def test_track_set_round_trip(with_xyz, rng):
    tracks = _tracks(rng, with_xyz)
    back = track_set_from_msg(_over_the_wire(track_set_msg(tracks, HEADER)))
    for name in ("track_ids", "stamps_ns", "uv", "visible", "descriptors", "confidence"):
        np.testing.assert_array_equal(getattr(back, name), getattr(tracks, name), err_msg=name)
    assert back.camera == "cam1" and back.world_frame == tracks.world_frame
    if with_xyz:
        np.testing.assert_array_equal(back.xyz, tracks.xyz)
    else:
        assert back.xyz is None


def test_track_set_with_inconsistent_lengths_is_rejected(rng):
    msg = track_set_msg(_tracks(rng), HEADER)
    msg.num_tracks = 7
    with pytest.raises(ValueError, match=r"xyz has 72 values, expected \(4, 7, 3\)"):
        track_set_from_msg(msg)


def test_correspondences_and_offsets_round_trip():
    corr = Correspondences("cam0", "cam2", np.array([1, 4], np.int64), np.array([9, 3], np.int64),
                           np.array([0.75, 0.5], np.float32), 0.125)  # fmt: skip
    back = correspondences_from_msg(_over_the_wire(correspondences_msg(corr, HEADER)))
    assert (back.cam_a, back.cam_b, back.cost) == ("cam0", "cam2", 0.125)
    np.testing.assert_array_equal(back.ids_b, corr.ids_b)
    np.testing.assert_array_equal(back.weight, corr.weight)
    offsets = [
        ClockOffset("cam0", 0.0, 0.0, state=SyncState.LOCKED),
        ClockOffset("cam1", -0.137, 0.002, 12.5, SyncState.LOCKED, "", 1_700_000_000.25),
        ClockOffset("cam2", 0.0, float("inf"), state=SyncState.LOST, reason="no tracks for 4.0 s"),
    ]
    msg = _over_the_wire(clock_offsets_msg(offsets, "cam0", HEADER))
    assert msg.reference_camera == "cam0"
    assert clock_offsets_from_msg(msg) == offsets


def test_point_cloud_round_trip_of_splat_layout(rng):
    n = 5
    snapshot = GaussianSnapshot(
        t_s=0.0, means=rng.normal(size=(n, 3)).astype(np.float32),
        quats=np.tile(np.array([1.0, 0.0, 0.0, 0.0], np.float32), (n, 1)),
        scales=rng.uniform(0.01, 0.1, (n, 3)).astype(np.float32), opacities=rng.random(n).astype(np.float32),
        colours=rng.random((n, 3)).astype(np.float32),
    )  # fmt: skip
    points = pointcloud_array(snapshot)
    msg = _over_the_wire(point_cloud_msg(points, HEADER))
    assert [f.name for f in msg.fields] == list(points.dtype.names)
    assert all(f.datatype == PointField.FLOAT32 for f in msg.fields)
    back = array_from_point_cloud(msg)
    assert back.dtype.names == points.dtype.names
    for name in points.dtype.names:
        np.testing.assert_array_equal(back[name], points[name])
    packed = back["rgb"].view(np.uint32)  # RViz's RGB8: 0x00RRGGBB in a float32
    np.testing.assert_array_equal((packed >> 16) & 0xFF, np.round(snapshot.colours[:, 0] * 255))


def test_point_cloud_reader_honours_padding_and_offsets():
    """A cloud from another producer: a 4-byte gap inside each 20-byte point, two rows."""
    padded = np.zeros(6, dtype={"names": ["x", "track_id"], "formats": ["<f4", "<u4"], "offsets": [0, 8], "itemsize": 20})
    padded["x"], padded["track_id"] = np.arange(6) * 0.5, np.arange(6) + 100
    msg = PointCloud2(
        height=2, width=3, is_bigendian=False, point_step=20, row_step=60, data=padded.tobytes(),
        fields=[PointField(name="x", offset=0, datatype=PointField.FLOAT32, count=1),
                PointField(name="track_id", offset=8, datatype=PointField.UINT32, count=1)],
    )  # fmt: skip
    back = array_from_point_cloud(_over_the_wire(msg))
    np.testing.assert_array_equal(back["x"], padded["x"])
    np.testing.assert_array_equal(back["track_id"], padded["track_id"])
    msg.data = msg.data[:-1]
    with pytest.raises(ValueError, match="does not match 119 data bytes"):
        array_from_point_cloud(msg)


def test_track_points_are_latest_visible_positions(rng):
    tracks = _tracks(rng)
    points = latest_track_points(tracks)
    assert points.dtype == TRACK_POINT_DTYPE
    column = 0  # visible in every frame: its latest position is the last row
    row = points[points["track_id"] == tracks.track_ids[column]][0]
    np.testing.assert_array_equal([row["x"], row["y"], row["z"]], tracks.xyz[-1, column])
    back = array_from_point_cloud(_over_the_wire(point_cloud_msg(points, HEADER)))
    np.testing.assert_array_equal(back["track_id"], points["track_id"])


def test_track_polylines_one_strip_per_track_coloured_by_id(rng):
    tracks = _tracks(rng)
    markers = track_polylines(tracks, HEADER).markers
    assert markers[0].action == Marker.DELETEALL
    strips = markers[1:]
    expected = {int(tracks.track_ids[c]) for c in range(tracks.num_tracks) if tracks.visible[:, c].sum() >= 2}
    assert {m.id for m in strips} == expected and all(m.type == Marker.LINE_STRIP for m in strips)
    first = next(m for m in strips if m.id == int(tracks.track_ids[0]))
    np.testing.assert_allclose([[p.x, p.y, p.z] for p in first.points], tracks.xyz[:, 0], rtol=1e-6)
    colours = {(m.color.r, m.color.g, m.color.b) for m in strips}
    assert len(colours) == len(strips)
    thinned = next(m for m in track_polylines(tracks, HEADER, max_points_per_line=3).markers[1:] if m.id == first.id)
    picked = [0, (tracks.num_frames - 1) / 2, tracks.num_frames - 1]
    np.testing.assert_allclose([[p.x, p.y, p.z] for p in thinned.points], tracks.xyz[np.round(picked).astype(int), 0], rtol=1e-6)


def test_splat_ellipsoids_follow_the_covariance():
    """A Gaussian rotated 90 degrees about z with scales (0.1, 0.02, 0.05): the marker's long
    axis must lie along world y, and its diameters be 2 * sigma * scale."""
    half = np.sqrt(0.5)
    snapshot = GaussianSnapshot(
        t_s=0.0, means=np.array([[1.0, 2.0, 3.0]], np.float32), quats=np.array([[half, 0.0, 0.0, half]], np.float32),
        scales=np.array([[0.1, 0.02, 0.05]], np.float32), opacities=np.array([0.8], np.float32),
        colours=np.array([[0.2, 0.4, 0.6]], np.float32),
    )  # fmt: skip
    marker = splat_ellipsoids(ellipsoid_markers(snapshot, 2.0), HEADER).markers[1]
    assert marker.type == Marker.SPHERE
    q = marker.pose.orientation
    R = _rotation_xyzw(q.x, q.y, q.z, q.w)
    diameters = np.array([marker.scale.x, marker.scale.y, marker.scale.z])
    long_axis = R[:, np.argmax(diameters)]
    np.testing.assert_allclose(np.abs(long_axis), [0.0, 1.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(sorted(diameters), sorted([0.4, 0.08, 0.2]), rtol=1e-5)
    assert marker.color.a == pytest.approx(0.8)


def test_scaffold_polylines_skip_empty_paths_and_thin_long_ones():
    paths = np.zeros((3, 5, 3))
    paths[1] = np.nan
    paths[2, :, 0] = np.arange(5.0)
    markers = scaffold_polylines(paths, HEADER, max_points_per_line=3).markers
    assert [m.id for m in markers[1:]] == [0, 2]
    assert [p.x for p in markers[2].points] == [0.0, 2.0, 4.0]


def _rotation_xyzw(x, y, z, w) -> np.ndarray:
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip
