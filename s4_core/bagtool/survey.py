"""A first, short look at a recording: which cameras are usable, and how they are calibrated.

Reads only the first message of every camera topic and the static transforms (stopping as soon
as it has them), so that problems -- an encoding s4 cannot decode, a missing or empty
camera_info, a depth topic that is not depth -- are reported before the long pass starts, and
the pipeline can be built with every camera's model.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from rosbags.rosbag2 import Reader

from s4_core.bagtool.calibration import (
    CameraIntrinsics,
    RigCalibration,
    TransformTree,
    intrinsics_from_camera_info,
    rig_calibration,
)
from s4_core.bagtool.discovery import CameraTopics
from s4_core.bagtool.frame_decoding import depth_m_of, rgb_of
from s4_core.bagtool.typestore import s4_typestore

log = logging.getLogger(__name__)

TF_STATIC_TOPIC = "/tf_static"
TF_MESSAGE_TYPE = "tf2_msgs/msg/TFMessage"


@dataclass(frozen=True)
class RecordingSurvey:
    """The usable cameras of a recording.

    Attributes:
        cameras: cameras whose images decode; ``depth_topic`` cleared where depth does not.
        calibration: their models and the shared TF world frame, when there is one.
        skipped: per camera left out, why.
    """

    cameras: list[CameraTopics]
    calibration: RigCalibration
    skipped: dict[str, str]


def survey_recording(reader: Reader, cameras: list[CameraTopics]) -> RecordingSurvey:
    """Check every camera against its first messages and read the rig calibration.

    Problems are logged as warnings and the camera (or its depth) left out; the caller decides
    whether what remains is enough.
    """
    first = _first_messages(reader, cameras)
    usable, skipped, intrinsics = [], {}, {}
    for camera in cameras:
        problem = _image_problem(camera, first)
        if problem:
            log.warning("camera %s skipped: %s", camera.name, problem)
            skipped[camera.name] = problem
            continue
        usable.append(_with_checked_depth(camera, first))
        intrinsics[camera.name] = _intrinsics(camera, first)
    tree = TransformTree()
    for connection, _, raw in _tf_messages(reader):
        tree.add_message(s4_typestore().deserialize_cdr(raw, connection.msgtype))
    calibration = rig_calibration([c.name for c in usable], intrinsics, tree)
    return RecordingSurvey(usable, calibration, skipped)


def _first_messages(reader: Reader, cameras: list[CameraTopics]) -> dict[str, tuple[str, bytes]]:
    """``{topic: (msgtype, raw)}`` of the first message of every camera topic that has one."""
    wanted = {t for c in cameras for t in (c.image_topic, c.info_topic, c.depth_topic) if t is not None}
    connections = [c for c in reader.connections if c.topic in wanted and c.msgcount > 0]
    remaining = {c.topic for c in connections}
    first: dict[str, tuple[str, bytes]] = {}
    if not connections:
        return first
    for connection, _, raw in reader.messages(connections=connections):
        if connection.topic not in first:
            first[connection.topic] = (connection.msgtype, raw)
            remaining.discard(connection.topic)
        if not remaining:
            break
    return first


def _tf_messages(reader: Reader):
    connections = [c for c in reader.connections if c.topic == TF_STATIC_TOPIC and c.msgtype == TF_MESSAGE_TYPE]
    return reader.messages(connections=connections) if connections else iter(())


def _image_problem(camera: CameraTopics, first: dict[str, tuple[str, bytes]]) -> str:
    """Why the camera's images cannot be used ("" when they can)."""
    if camera.image_topic not in first:
        return f"{camera.image_topic} has no messages"
    msgtype, raw = first[camera.image_topic]
    try:
        rgb_of(s4_typestore().deserialize_cdr(raw, msgtype), msgtype)
    except ValueError as error:
        return f"{camera.image_topic}: {error}"
    return ""


def _with_checked_depth(camera: CameraTopics, first: dict[str, tuple[str, bytes]]) -> CameraTopics:
    if camera.depth_topic is None:
        return camera
    if camera.depth_topic not in first:
        log.warning("camera %s: %s has no messages; syncing without depth", camera.name, camera.depth_topic)
        return dataclasses.replace(camera, depth_topic=None)
    msgtype, raw = first[camera.depth_topic]
    try:
        depth_m_of(s4_typestore().deserialize_cdr(raw, msgtype))
    except ValueError as error:
        log.warning("camera %s: depth %s unusable (%s); syncing without depth", camera.name, camera.depth_topic, error)
        return dataclasses.replace(camera, depth_topic=None)
    return camera


def _intrinsics(camera: CameraTopics, first: dict[str, tuple[str, bytes]]) -> CameraIntrinsics | None:
    if camera.info_topic is None or camera.info_topic not in first:
        log.warning("camera %s has no camera_info: synced without calibration", camera.name)
        return None
    msgtype, raw = first[camera.info_topic]
    intrinsics = intrinsics_from_camera_info(s4_typestore().deserialize_cdr(raw, msgtype))
    if intrinsics is None:
        log.warning("camera %s: %s is uncalibrated (zero K): synced without calibration", camera.name, camera.info_topic)
    return intrinsics
