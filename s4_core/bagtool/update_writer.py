"""Writes what the pipeline reports (offsets, tracks, correspondences, splats) into the output bag.

Topics: ``/s4/clock_offsets`` (ClockOffsetArray), ``/s4/<camera>/tracks`` (TrackSet),
``/s4/correspondences`` (TrackCorrespondences) and ``/s4/splats`` (PointCloud2). Each message's
header stamp is the update's reference time; its log time is that of the input message whose
arrival completed the update, so the results sit beside the data they came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from rosbags.interfaces import Connection

from s4_core.bagtool import ros_messages
from s4_core.bagtool.staged_writer import StagedBagWriter
from s4_core.offsets import ClockOffset, SyncState

CLOCK_OFFSETS_TOPIC = "/s4/clock_offsets"
CORRESPONDENCES_TOPIC = "/s4/correspondences"
SPLATS_TOPIC = "/s4/splats"


def tracks_topic(camera: str) -> str:
    return f"/s4/{camera}/tracks"


@dataclass(frozen=True)
class OffsetSample:
    """One camera's estimate at one moment, for plotting the convergence.

    Attributes:
        stamp_ns: reference time of the update, nanoseconds.
        offset_s: offset estimate, seconds.
        stddev_s: its standard deviation, seconds.
        state: health of the estimate.
    """

    stamp_ns: int
    offset_s: float
    stddev_s: float
    state: SyncState


class UpdateWriter:
    """Serializes pipeline updates into a staged bag and keeps the offset history.

    Args:
        writer: the output bag.
        reference_camera: camera whose clock is reference time.
        world_frame: frame of splat positions ("world" when the rig has no TF tree).
    """

    def __init__(self, writer: StagedBagWriter, reference_camera: str, world_frame: str) -> None:
        self._writer = writer
        self._reference_camera = reference_camera
        self._world_frame = world_frame
        self._connections: dict[str, Connection] = {}
        self.history: dict[str, list[OffsetSample]] = {}
        self.messages_written = 0

    def write(self, update: object, log_time_ns: int) -> None:
        """Write one ``PipelineUpdate`` at ``log_time_ns``."""
        stamp_ns = int(update.stamp_ns)
        if update.offsets:
            message = ros_messages.clock_offsets_message(update.offsets, self._reference_camera, stamp_ns)
            self._write(CLOCK_OFFSETS_TOPIC, message, log_time_ns)
            self._remember(update.offsets, stamp_ns)
        for camera in sorted(update.tracks):
            self._write(tracks_topic(camera), ros_messages.track_set_message(update.tracks[camera], stamp_ns), log_time_ns)
        for matches in update.correspondences:
            self._write(CORRESPONDENCES_TOPIC, ros_messages.correspondences_message(matches, stamp_ns), log_time_ns)
        if update.splats is not None:
            message = ros_messages.splat_cloud_message(update.splats, stamp_ns, self._world_frame)
            self._write(SPLATS_TOPIC, message, log_time_ns)

    def _write(self, topic: str, message: object, log_time_ns: int) -> None:
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(topic, message.__msgtype__)
        self._writer.write(self._connections[topic], log_time_ns, ros_messages.serialize(message))
        self.messages_written += 1

    def _remember(self, offsets: dict[str, ClockOffset], stamp_ns: int) -> None:
        for name, offset in offsets.items():
            sample = OffsetSample(stamp_ns, float(offset.offset_s), float(offset.stddev_s), SyncState(offset.state))
            self.history.setdefault(name, []).append(sample)
