"""Write the caliscope ChArUco session (four real webcams) into a rosbag2, as a rig would record it.

The session (``/work/shared/data/caliscope_charuco_4cam``, see its SOURCE.md) holds one mp4 per
camera, the host capture time of every frame (``timestamps.csv``) and the calibration
(``camera_array.toml``: OpenCV intrinsics, plumb_bob distortion, and ``x_cam = R x_world + t``).
Per camera ``cam_N`` the bag gets ``/cam_N/image_raw`` (rgb8 Image) or
``/cam_N/image_raw/compressed`` (JPEG), ``/cam_N/camera_info``, and ``/tf_static`` with
``world -> cam_N_optical_frame``.

Log times are the host capture times, as a recorder on that host would write them; header
stamps are the same times plus a chosen whole number of frame periods per camera, which gives
a real recording with a known clock offset to recover.
"""

from __future__ import annotations

import csv
import heapq
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from s4_core.bagtool import ros_messages
from s4_core.bagtool.discovery import CAMERA_INFO_TYPE, COMPRESSED_IMAGE_TYPE, IMAGE_TYPE
from s4_core.bagtool.staged_writer import StagedBagWriter
from s4_core.bagtool.survey import TF_MESSAGE_TYPE, TF_STATIC_TOPIC
from s4_core.bagtool.typestore import s4_typestore
from s4_core.camera import invert_rigid
from s4_core.clock import seconds_to_ns
from s4_core.imaging import encode_compressed

#: Added to the session's host times (seconds since the capture program started) to make
#: plausible absolute stamps: the session's recording date.
SESSION_EPOCH_S = 1_680_249_403.0

TIMESTAMPS_CSV = Path("calibration/extrinsic/timestamps.csv")
CAMERA_ARRAY_TOML = Path("camera_array.toml")


@dataclass(frozen=True)
class CaliscopeBagConfig:
    """How the session is written.

    Attributes:
        size_wh: image size in the bag (the videos are 1280x720); intrinsics are scaled to it.
        compressed: JPEG CompressedImage instead of rgb8 Image.
        jpeg_quality: JPEG quality, 0-100.
        shift_frames: per camera name (``cam_N``) the frames its header stamps are shifted by
            (positive: stamps later than capture, so the true offset is positive).
        storage: ``"mcap"`` or ``"sqlite3"``.
    """

    size_wh: tuple[int, int] = (320, 180)
    compressed: bool = True
    jpeg_quality: int = 90
    shift_frames: Mapping[str, int] = field(default_factory=dict)
    storage: str = "mcap"


@dataclass(frozen=True)
class CaliscopeBag:
    """What :func:`write_caliscope_bag` wrote.

    Attributes:
        path: the bag.
        frame_period_s: per camera the median interval between its frames, seconds.
        shift_s: per camera the stamp shift applied, seconds (``shift_frames * frame_period_s``).
        num_frames: per camera the frames written.
    """

    path: Path
    frame_period_s: dict[str, float]
    shift_s: dict[str, float]
    num_frames: dict[str, int]


@dataclass(frozen=True)
class _CameraRecord:
    name: str
    video: Path
    capture_s: np.ndarray  # [T] host capture times, seconds since the capture program started
    K: np.ndarray  # [3, 3] at full resolution
    size_wh: tuple[int, int]
    distortion: np.ndarray  # [5] plumb_bob
    camera_from_world: np.ndarray  # [4, 4]


def write_caliscope_bag(session: Path, out: Path, config: CaliscopeBagConfig = CaliscopeBagConfig()) -> CaliscopeBag:
    """Write the session at ``session`` into a new bag at ``out``.

    Raises:
        ValueError: ``out`` exists, or ``shift_frames`` names a camera the session lacks.
    """
    records = _read_session(session)
    unknown = set(config.shift_frames) - {r.name for r in records}
    if unknown:
        raise ValueError(f"no camera {', '.join(sorted(unknown))} in the session ({', '.join(r.name for r in records)})")
    periods = {r.name: float(np.median(np.diff(r.capture_s))) for r in records}
    shifts = {r.name: config.shift_frames.get(r.name, 0) * periods[r.name] for r in records}
    image_type = COMPRESSED_IMAGE_TYPE if config.compressed else IMAGE_TYPE
    with StagedBagWriter(Path(out), config.storage) as writer:
        images = {r.name: writer.add_connection(_image_topic(r.name, config), image_type) for r in records}
        infos = {r.name: writer.add_connection(f"/{r.name}/camera_info", CAMERA_INFO_TYPE) for r in records}
        tf = writer.add_connection(TF_STATIC_TOPIC, TF_MESSAGE_TYPE)
        first_ns = seconds_to_ns(SESSION_EPOCH_S + min(r.capture_s[0] for r in records))
        writer.write(tf, first_ns, ros_messages.serialize(_static_transforms(records, first_ns)))
        for log_ns, record, rgb in _frames_in_log_order(records):
            stamp_ns = log_ns + seconds_to_ns(shifts[record.name])
            frame_id = _optical_frame(record.name)
            writer.write(images[record.name], log_ns, ros_messages.serialize(_image(rgb, stamp_ns, frame_id, config)))
            writer.write(infos[record.name], log_ns, ros_messages.serialize(_camera_info(record, stamp_ns, config)))
        path = writer.commit()
    return CaliscopeBag(path, periods, shifts, {r.name: len(r.capture_s) for r in records})


def _read_session(session: Path) -> list[_CameraRecord]:
    """Every camera of the session with its capture times and calibration."""
    times: dict[int, list[tuple[int, float]]] = {}
    with open(session / TIMESTAMPS_CSV, newline="") as handle:
        for row in csv.DictReader(handle):
            times.setdefault(int(row["cam_id"]), []).append((int(row["frame_index"]), float(row["frame_time"])))
    with open(session / CAMERA_ARRAY_TOML, "rb") as handle:
        calibration = tomllib.load(handle)["cameras"]
    records = []
    for cam_id in sorted(times):
        entry = calibration[str(cam_id)]
        camera_from_world = np.eye(4)
        camera_from_world[:3, :3] = np.asarray(entry["rotation"], dtype=np.float64)
        camera_from_world[:3, 3] = np.asarray(entry["translation"], dtype=np.float64)
        records.append(
            _CameraRecord(
                name=f"cam_{cam_id}",
                video=session / TIMESTAMPS_CSV.parent / f"cam_{cam_id}.mp4",
                capture_s=np.array([t for _, t in sorted(times[cam_id])]),
                K=np.asarray(entry["matrix"], dtype=np.float64),
                size_wh=(int(entry["size"][0]), int(entry["size"][1])),
                distortion=np.asarray(entry["distortions"], dtype=np.float64),
                camera_from_world=camera_from_world,
            )
        )
    return records


def _frames_in_log_order(records: list[_CameraRecord]) -> Iterator[tuple[int, _CameraRecord, np.ndarray]]:
    """(log time ns, camera, RGB frame at full size) over all cameras, in log-time order."""
    streams = [_video_frames(r) for r in records]
    yield from heapq.merge(*streams, key=lambda item: item[0])


def _video_frames(record: _CameraRecord) -> Iterator[tuple[int, _CameraRecord, np.ndarray]]:
    capture = cv2.VideoCapture(str(record.video))
    try:
        for capture_s in record.capture_s:
            ok, bgr = capture.read()
            if not ok:
                raise ValueError(f"{record.video} has fewer frames than its {len(record.capture_s)} timestamps")
            yield seconds_to_ns(SESSION_EPOCH_S + capture_s), record, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def _image_topic(name: str, config: CaliscopeBagConfig) -> str:
    return f"/{name}/image_raw/compressed" if config.compressed else f"/{name}/image_raw"


def _optical_frame(name: str) -> str:
    return f"{name}_optical_frame"


def _image(rgb: np.ndarray, stamp_ns: int, frame_id: str, config: CaliscopeBagConfig) -> object:
    resized = cv2.resize(rgb, config.size_wh, interpolation=cv2.INTER_AREA)
    types = s4_typestore().types
    header = ros_messages.header_message(stamp_ns, frame_id)
    if config.compressed:
        fmt, data = encode_compressed(resized, "rgb8", "jpeg", config.jpeg_quality)
        return types[COMPRESSED_IMAGE_TYPE](header=header, format=fmt, data=np.frombuffer(data, np.uint8))
    height, width = resized.shape[:2]
    return types[IMAGE_TYPE](
        header=header, height=height, width=width, encoding="rgb8", is_bigendian=0, step=3 * width,
        data=np.ascontiguousarray(resized).reshape(-1),
    )  # fmt: skip


def _camera_info(record: _CameraRecord, stamp_ns: int, config: CaliscopeBagConfig) -> object:
    """CameraInfo at the bag's image size (pixel centres at integers, so centres scale about -0.5)."""
    width, height = config.size_wh
    scale = np.array([width / record.size_wh[0], height / record.size_wh[1]])
    K = record.K.copy()
    K[0, 0], K[1, 1] = K[0, 0] * scale[0], K[1, 1] * scale[1]
    K[:2, 2] = (K[:2, 2] + 0.5) * scale - 0.5
    return s4_typestore().types[CAMERA_INFO_TYPE](
        header=ros_messages.header_message(stamp_ns, _optical_frame(record.name)),
        height=height, width=width, distortion_model="plumb_bob", d=record.distortion.copy(),
        k=K.reshape(-1), r=np.eye(3).reshape(-1), p=np.concatenate([K, np.zeros((3, 1))], axis=1).reshape(-1),
        binning_x=0, binning_y=0, roi=s4_typestore().types["sensor_msgs/msg/RegionOfInterest"](
            x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )  # fmt: skip


def _static_transforms(records: list[_CameraRecord], stamp_ns: int) -> object:
    """``tf2_msgs/TFMessage`` with ``world -> cam_N_optical_frame`` for every camera."""
    types = s4_typestore().types
    transforms = []
    for record in records:
        world_from_camera = invert_rigid(record.camera_from_world)
        qx, qy, qz, qw = Rotation.from_matrix(world_from_camera[:3, :3]).as_quat()
        tx, ty, tz = world_from_camera[:3, 3]
        transforms.append(
            types["geometry_msgs/msg/TransformStamped"](
                header=ros_messages.header_message(stamp_ns, "world"),
                child_frame_id=_optical_frame(record.name),
                transform=types["geometry_msgs/msg/Transform"](
                    translation=types["geometry_msgs/msg/Vector3"](x=tx, y=ty, z=tz),
                    rotation=types["geometry_msgs/msg/Quaternion"](x=qx, y=qy, z=qz, w=qw),
                ),
            )
        )
    return types[TF_MESSAGE_TYPE](transforms=transforms)
