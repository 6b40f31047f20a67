"""s4's own messages (``TrackSet``, ``TrackCorrespondences``, ``ClockOffsetArray``) <-> core types.

Arrays cross as ``array.array`` built from raw bytes and come back through ``np.frombuffer``:
both are copies of contiguous memory, where element-wise conversion would cost seconds for a
dense TrackSet.
"""

from __future__ import annotations

import array
import math
from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Time
from std_msgs.msg import Header

from s4.msg import ClockOffset as ClockOffsetMsg
from s4.msg import ClockOffsetArray, TrackCorrespondences
from s4.msg import TrackSet as TrackSetMsg
from s4_core.correspondences import Correspondences
from s4_core.offsets import ClockOffset, SyncState
from s4_core.tracks import TrackSet

_STATE_TO_MSG = {
    SyncState.INITIALIZING: ClockOffsetMsg.STATE_INITIALIZING,
    SyncState.LOCKED: ClockOffsetMsg.STATE_LOCKED,
    SyncState.LOST: ClockOffsetMsg.STATE_LOST,
}
_STATE_FROM_MSG = {v: k for k, v in _STATE_TO_MSG.items()}


def packed(values: np.ndarray, typecode: str, dtype: type) -> array.array:
    """``values`` as an ``array.array`` of ``typecode`` (the type rclpy keeps sequences in)."""
    return array.array(typecode, np.ascontiguousarray(values, dtype=dtype).tobytes())


def track_set_msg(tracks: TrackSet, header: Header) -> TrackSetMsg:
    """A TrackSet message; ``header.frame_id`` is set to the tracks' world frame when they have 3D."""
    if tracks.world_frame:
        header = Header(stamp=header.stamp, frame_id=tracks.world_frame)
    xyz = tracks.xyz if tracks.xyz is not None else np.zeros(0, np.float32)
    return TrackSetMsg(
        header=header,
        camera=tracks.camera,
        stamps_ns=packed(tracks.stamps_ns, "q", np.int64),
        track_ids=packed(tracks.track_ids, "q", np.int64),
        num_frames=tracks.num_frames,
        num_tracks=tracks.num_tracks,
        uv=packed(tracks.uv, "f", np.float32),
        xyz=packed(xyz, "f", np.float32),
        visible=np.ascontiguousarray(tracks.visible, dtype=np.uint8).tobytes(),
        confidence=packed(tracks.confidence, "f", np.float32),
        descriptor_dim=tracks.descriptors.shape[1],
        descriptors=packed(tracks.descriptors, "f", np.float32),
    )


def track_set_from_msg(msg: TrackSetMsg) -> TrackSet:
    """The core TrackSet of a message.

    Raises:
        ValueError: array lengths that do not match ``num_frames``/``num_tracks`` (the core
            TrackSet checks every shape).
    """
    T, N, D = int(msg.num_frames), int(msg.num_tracks), int(msg.descriptor_dim)

    def unpacked(values, dtype: type, shape: tuple[int, ...], name: str) -> np.ndarray:
        flat = np.frombuffer(values, dtype=dtype) if len(values) else np.zeros(0, dtype)
        if flat.size != int(np.prod(shape)):
            raise ValueError(f"TrackSet of {msg.camera}: {name} has {flat.size} values, expected {shape}")
        return flat.reshape(shape)

    xyz = unpacked(msg.xyz, np.float32, (T, N, 3), "xyz") if len(msg.xyz) else None
    return TrackSet(
        camera=msg.camera,
        track_ids=unpacked(msg.track_ids, np.int64, (N,), "track_ids"),
        stamps_ns=unpacked(msg.stamps_ns, np.int64, (T,), "stamps_ns"),
        uv=unpacked(msg.uv, np.float32, (T, N, 2), "uv"),
        visible=unpacked(msg.visible, np.uint8, (T, N), "visible").astype(bool),
        xyz=xyz,
        descriptors=unpacked(msg.descriptors, np.float32, (N, D), "descriptors"),
        confidence=unpacked(msg.confidence, np.float32, (T, N), "confidence"),
        world_frame=msg.header.frame_id if xyz is not None else "",
    )


def correspondences_msg(corr: Correspondences, header: Header) -> TrackCorrespondences:
    """A TrackCorrespondences message of one camera pair's matches."""
    return TrackCorrespondences(
        header=header,
        camera_a=corr.cam_a,
        camera_b=corr.cam_b,
        ids_a=packed(corr.ids_a, "q", np.int64),
        ids_b=packed(corr.ids_b, "q", np.int64),
        weights=packed(corr.weight, "f", np.float32),
        cost=float(corr.cost),
    )


def correspondences_from_msg(msg: TrackCorrespondences) -> Correspondences:
    """The core Correspondences of a message."""
    return Correspondences(
        cam_a=msg.camera_a,
        cam_b=msg.camera_b,
        ids_a=np.frombuffer(msg.ids_a, np.int64).copy() if len(msg.ids_a) else np.zeros(0, np.int64),
        ids_b=np.frombuffer(msg.ids_b, np.int64).copy() if len(msg.ids_b) else np.zeros(0, np.int64),
        weight=np.frombuffer(msg.weights, np.float32).copy() if len(msg.weights) else np.zeros(0, np.float32),
        cost=float(msg.cost),
    )


def clock_offsets_msg(offsets: Sequence[ClockOffset], reference_camera: str, header: Header) -> ClockOffsetArray:
    """A ClockOffsetArray of the rig's offsets."""
    return ClockOffsetArray(
        header=header,
        reference_camera=reference_camera,
        offsets=[
            ClockOffsetMsg(
                camera=o.camera, offset_s=float(o.offset_s), stddev_s=float(o.stddev_s), drift_ppm=float(o.drift_ppm),
                t0=_time_msg(o.t0_s), state=_STATE_TO_MSG[SyncState(o.state)], reason=o.reason,
            )  # fmt: skip
            for o in offsets
        ],
    )


def clock_offsets_from_msg(msg: ClockOffsetArray) -> list[ClockOffset]:
    """The core ClockOffsets of a message, in message order."""
    return [
        ClockOffset(
            camera=o.camera, offset_s=o.offset_s, stddev_s=o.stddev_s, drift_ppm=o.drift_ppm,
            state=_STATE_FROM_MSG[o.state], reason=o.reason, t0_s=o.t0.sec + o.t0.nanosec * 1e-9,
        )  # fmt: skip
        for o in msg.offsets
    ]


def _time_msg(t_s: float) -> Time:
    """Whole and fractional seconds apart: float64 epoch seconds hold only ~0.24 us, and going
    through integer nanoseconds would add rounding on top of that."""
    sec = math.floor(t_s)
    nanosec = min(round((t_s - sec) * 1e9), 999_999_999)
    return Time(sec=int(sec), nanosec=int(nanosec))
