"""s4 results as ROS 2 messages of the bag tool's typestore (rosbags objects, no rclpy).

Field layouts follow the definitions in ``msg/``: arrays are flattened row-major, stamps are
``builtin_interfaces/Time``, and the sync state maps onto the ``STATE_*`` constants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from s4_core.bagtool.typestore import s4_typestore
from s4_core.clock import NS_PER_S, seconds_to_ns
from s4_core.correspondences import Correspondences
from s4_core.offsets import ClockOffset, SyncState
from s4_core.tracks import TrackSet

if TYPE_CHECKING:
    from s4_core.splat.export import GaussianSnapshot

CLOCK_OFFSET_ARRAY_TYPE = "s4/msg/ClockOffsetArray"
TRACK_SET_TYPE = "s4/msg/TrackSet"
TRACK_CORRESPONDENCES_TYPE = "s4/msg/TrackCorrespondences"
POINTCLOUD2_TYPE = "sensor_msgs/msg/PointCloud2"

#: ``ClockOffset.state`` value of each sync state.
STATE_CODES = {SyncState.INITIALIZING: 0, SyncState.LOCKED: 1, SyncState.LOST: 2}

#: PointField datatype of a little-endian float32.
_POINTFIELD_FLOAT32 = 7


def _types():
    return s4_typestore().types


def time_message(stamp_ns: int) -> object:
    """``builtin_interfaces/Time`` of a stamp in nanoseconds (floor seconds, positive nanoseconds)."""
    sec, nanosec = divmod(int(stamp_ns), NS_PER_S)
    return _types()["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)


def header_message(stamp_ns: int, frame_id: str = "") -> object:
    """``std_msgs/Header``."""
    return _types()["std_msgs/msg/Header"](stamp=time_message(stamp_ns), frame_id=frame_id)


def clock_offsets_message(offsets: dict[str, ClockOffset], reference_camera: str, stamp_ns: int) -> object:
    """``s4/msg/ClockOffsetArray`` of every camera's estimate, stamped at reference time ``stamp_ns``."""
    types = _types()
    items = [
        types["s4/msg/ClockOffset"](
            camera=offset.camera,
            offset_s=float(offset.offset_s),
            stddev_s=float(offset.stddev_s),
            drift_ppm=float(offset.drift_ppm),
            t0=time_message(seconds_to_ns(offset.t0_s)),
            state=STATE_CODES[SyncState(offset.state)],
            reason=offset.reason,
        )
        for offset in (offsets[name] for name in sorted(offsets))
    ]
    return types[CLOCK_OFFSET_ARRAY_TYPE](
        header=header_message(stamp_ns), reference_camera=reference_camera, offsets=items
    )


def track_set_message(tracks: TrackSet, stamp_ns: int) -> object:
    """``s4/msg/TrackSet`` of one camera's window of tracks."""
    xyz = np.zeros(0, np.float32) if tracks.xyz is None else np.asarray(tracks.xyz, np.float32).reshape(-1)
    return _types()[TRACK_SET_TYPE](
        header=header_message(stamp_ns, tracks.world_frame),
        camera=tracks.camera,
        stamps_ns=np.asarray(tracks.stamps_ns, np.int64),
        track_ids=np.asarray(tracks.track_ids, np.int64),
        num_frames=tracks.num_frames,
        num_tracks=tracks.num_tracks,
        uv=np.asarray(tracks.uv, np.float32).reshape(-1),
        xyz=xyz,
        visible=np.asarray(tracks.visible, np.uint8).reshape(-1),
        confidence=np.asarray(tracks.confidence, np.float32).reshape(-1),
        descriptor_dim=int(tracks.descriptors.shape[1]),
        descriptors=np.asarray(tracks.descriptors, np.float32).reshape(-1),
    )


def correspondences_message(matches: Correspondences, stamp_ns: int) -> object:
    """``s4/msg/TrackCorrespondences`` of one camera pair."""
    return _types()[TRACK_CORRESPONDENCES_TYPE](
        header=header_message(stamp_ns),
        camera_a=matches.cam_a,
        camera_b=matches.cam_b,
        ids_a=np.asarray(matches.ids_a, np.int64),
        ids_b=np.asarray(matches.ids_b, np.int64),
        weights=np.asarray(matches.weight, np.float32),
        cost=float(matches.cost),
    )


def splat_cloud_message(snapshot: GaussianSnapshot, stamp_ns: int, frame_id: str) -> object:
    """``sensor_msgs/PointCloud2`` with one point per Gaussian (fields of ``pointcloud_array``)."""
    from s4_core.splat.export import pointcloud_array  # the splat package loads torch: only when splats exist

    types = _types()
    points = pointcloud_array(snapshot)
    fields = [
        types["sensor_msgs/msg/PointField"](
            name=name, offset=points.dtype.fields[name][1], datatype=_POINTFIELD_FLOAT32, count=1
        )
        for name in points.dtype.names
    ]
    return types[POINTCLOUD2_TYPE](
        header=header_message(stamp_ns, frame_id),
        height=1,
        width=len(points),
        fields=fields,
        is_bigendian=False,
        point_step=points.dtype.itemsize,
        row_step=points.dtype.itemsize * len(points),
        data=points.view(np.uint8).reshape(-1),
        is_dense=True,
    )


def serialize(message: object) -> bytes:
    """CDR bytes of a typestore message."""
    return bytes(s4_typestore().serialize_cdr(message, message.__msgtype__))
