"""``sensor_msgs/PointCloud2`` <-> structured NumPy arrays, and the track cloud layout.

A structured array's fields become PointFields at their byte offsets, so any layout (the
splat layout of :func:`s4_core.splat.export.pointcloud_array`, the track layout here) goes
through the same two functions.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Header

from s4_core.arrays import finite_points
from s4_core.tracks import TrackSet

_DATATYPES = {
    np.dtype(np.int8): PointField.INT8,
    np.dtype(np.uint8): PointField.UINT8,
    np.dtype(np.int16): PointField.INT16,
    np.dtype(np.uint16): PointField.UINT16,
    np.dtype(np.int32): PointField.INT32,
    np.dtype(np.uint32): PointField.UINT32,
    np.dtype(np.float32): PointField.FLOAT32,
    np.dtype(np.float64): PointField.FLOAT64,
}
_DTYPES = {v: k for k, v in _DATATYPES.items()}

#: One point per track at its latest visible position (uint32 ids: PointField has no int64).
TRACK_POINT_DTYPE = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("track_id", "<u4")])


def point_cloud_msg(points: np.ndarray, header: Header) -> PointCloud2:
    """An unorganized (height 1) little-endian cloud of the structured array ``points`` [N].

    Raises:
        ValueError: a field type PointCloud2 cannot hold (e.g. int64) or a multi-value field.
    """
    fields = []
    for name in points.dtype.names or ():
        dtype, offset = points.dtype.fields[name][:2]
        if dtype.shape or dtype.base.newbyteorder("=") not in _DATATYPES:
            raise ValueError(f"field {name!r} of type {dtype} cannot go into a PointCloud2")
        fields.append(PointField(name=name, offset=offset, datatype=_DATATYPES[dtype.base.newbyteorder("=")], count=1))
    little = points.astype(points.dtype.newbyteorder("<"), copy=False)
    return PointCloud2(
        header=header, height=1, width=len(points), fields=fields, is_bigendian=False,
        point_step=points.dtype.itemsize, row_step=points.dtype.itemsize * len(points),
        data=np.ascontiguousarray(little).tobytes(), is_dense=True,
    )  # fmt: skip


def array_from_point_cloud(msg: PointCloud2) -> np.ndarray:
    """The points of a cloud as a structured array [height * width] in native byte order.

    Honours ``point_step`` (padding between points), ``row_step`` and field offsets.

    Raises:
        ValueError: a data length that does not match the declared layout.
    """
    order = ">" if msg.is_bigendian else "<"
    dtype = np.dtype({
        "names": [f.name for f in msg.fields],
        "formats": [_DTYPES[f.datatype].newbyteorder(order) for f in msg.fields],
        "offsets": [f.offset for f in msg.fields],
        "itemsize": msg.point_step,
    })  # fmt: skip
    data = np.frombuffer(msg.data, np.uint8)
    if data.size != msg.row_step * msg.height or msg.row_step < msg.point_step * msg.width:
        raise ValueError(
            f"PointCloud2 {msg.width}x{msg.height} (point_step {msg.point_step}, row_step {msg.row_step}) "
            f"does not match {data.size} data bytes"
        )
    rows = data.reshape(msg.height, msg.row_step)[:, : msg.point_step * msg.width]
    points = np.ascontiguousarray(rows).view(dtype).reshape(-1)
    return points.astype(points.dtype.newbyteorder("="))


def latest_track_points(tracks: TrackSet) -> np.ndarray:
    """Each 3D track at its latest visible position, as :data:`TRACK_POINT_DTYPE` [M].

    Tracks never visible with finite xyz in the window are left out; 2D-only tracks give none.
    """
    if tracks.xyz is None or tracks.num_frames == 0:
        return np.zeros(0, TRACK_POINT_DTYPE)
    usable = tracks.visible & finite_points(tracks.xyz)  # [T, N]
    seen = usable.any(axis=0)
    last = tracks.num_frames - 1 - np.argmax(usable[::-1], axis=0)  # latest usable row per track
    columns = np.flatnonzero(seen)
    xyz = tracks.xyz[last[columns], columns]
    points = np.empty(len(columns), TRACK_POINT_DTYPE)
    points["x"], points["y"], points["z"] = xyz.T
    points["track_id"] = tracks.track_ids[columns].astype(np.uint32)
    return points
