"""The second pass: each camera's messages again, re-stamped to reference time.

Only the final offsets are good enough to re-stamp with, so this runs after the pipeline has
seen the whole recording. Per camera the image (same type as recorded) and its camera_info go
to ``/s4/synced/<camera>/...`` with ``header.stamp`` = the capture time in the reference clock
(:meth:`s4_core.clock.ClockModel.capture_time`); payloads and log times stay as recorded. Depth
is not duplicated: it would double the output for data whose stamps equal the image's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rosbags.interfaces import Connection
from rosbags.rosbag2 import Reader

from s4_core.bagtool.cdr_header import header_stamp_ns, with_header_stamp
from s4_core.bagtool.discovery import COMPRESSED_IMAGE_TYPE, CameraTopics
from s4_core.bagtool.staged_writer import StagedBagWriter
from s4_core.clock import ClockModel, ns_to_seconds, seconds_to_ns
from s4_core.offsets import ClockOffset, SyncState

log = logging.getLogger(__name__)


def synced_image_topic(camera: CameraTopics) -> str:
    """``/s4/synced/<camera>/image_raw``, with image_transport's ``/compressed`` for CompressedImage."""
    suffix = "/compressed" if camera.image_type == COMPRESSED_IMAGE_TYPE else ""
    return f"/s4/synced/{camera.name}/image_raw{suffix}"


def synced_info_topic(camera: CameraTopics) -> str:
    return f"/s4/synced/{camera.name}/camera_info"


def clock_of(offset: ClockOffset) -> ClockModel:
    """The clock model an offset estimate stands for."""
    return ClockModel(offset_s=offset.offset_s, drift_ppm=offset.drift_ppm, t0_s=offset.t0_s)


def reference_stamp_ns(stamp_ns: int, clock: ClockModel) -> int:
    """Capture time (reference clock) of a camera stamp, nanoseconds.

    The offset is rounded to nanoseconds and subtracted in integers, so a zero offset leaves the
    stamp exactly as it was.
    """
    return int(stamp_ns) - seconds_to_ns(clock.offset_at(ns_to_seconds(stamp_ns)))


def restampable(offsets: dict[str, ClockOffset]) -> dict[str, ClockModel]:
    """Clock models of the cameras whose final estimate is a number (not still initializing)."""
    clocks = {}
    for name, offset in sorted(offsets.items()):
        state = SyncState(offset.state)
        if state == SyncState.INITIALIZING:
            log.warning("camera %s never locked: no synced topics for it", name)
            continue
        if state == SyncState.LOST:
            log.warning("camera %s ended LOST (%s): synced with its last estimate", name, offset.reason)
        clocks[name] = clock_of(offset)
    return clocks


def write_synced_topics(
    reader: Reader,
    writer: StagedBagWriter,
    cameras: list[CameraTopics],
    clocks: dict[str, ClockModel],
    on_message: Callable[[int], None] = lambda log_time_ns: None,
) -> int:
    """Copy every message of the cameras in ``clocks`` to its synced topic, re-stamped.

    Returns:
        Number of messages written.
    """
    routes: dict[tuple[str, str], tuple[str, ClockModel]] = {}
    for camera in cameras:
        if camera.name not in clocks:
            continue
        for source, target in ((camera.image_topic, synced_image_topic(camera)), (camera.info_topic, synced_info_topic(camera))):
            if source is not None:
                routes[source] = (target, clocks[camera.name])
    sources = [c for c in reader.connections if c.topic in routes]
    by_topic: dict[str, Connection] = {}
    for source in sources:
        target = routes[source.topic][0]
        if target not in by_topic:
            by_topic[target] = writer.copy_connection(source, topic=target)
    targets = {c.id: by_topic[routes[c.topic][0]] for c in sources}
    count = 0
    for connection, log_time_ns, raw in reader.messages(connections=sources) if sources else ():
        clock = routes[connection.topic][1]
        writer.write(targets[connection.id], log_time_ns, with_header_stamp(raw, reference_stamp_ns(header_stamp_ns(raw), clock)))
        count += 1
        on_message(log_time_ns)
    return count
