"""Write a synthetic recording as a rosbag2 (sqlite3 or mcap) plus its ground-truth JSON.

Per camera ``/<cam>/image_raw`` (rgb8), ``/<cam>/camera_info`` and, with depth,
``/<cam>/depth/image_raw`` (32FC1 metres), all stamped in that camera's own clock; once,
``/tf_static`` with ``world -> <cam>_optical_frame`` (offered transient-local, as tf2 latches
it). Log times are what a recorder on the reference host would write: capture time plus a
small transport latency. The bag and ``<OUT>.gt.json`` are assembled in a hidden sibling
directory and renamed into place at the end, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import heapq
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer

from s4_core.clock import seconds_to_ns
from s4_core.frames import Frame
from s4_core.synth import ros_messages as msgs
from s4_core.synth.config import RandomStream, stream_rng
from s4_core.synth.ground_truth import ground_truth_path, write_ground_truth
from s4_core.synth.world import SyntheticWorld

log = logging.getLogger(__name__)

STORAGES: dict[str, StoragePlugin] = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}

#: QoS a tf2 static broadcaster offers: late joiners still get the transforms.
TF_STATIC_QOS = Qos(
    history=QosHistory.KEEP_LAST,
    depth=1,
    reliability=QosReliability.RELIABLE,
    durability=QosDurability.TRANSIENT_LOCAL,
    deadline=QosTime(0, 0),
    lifespan=QosTime(0, 0),
    liveliness=QosLiveliness.AUTOMATIC,
    liveliness_lease_duration=QosTime(0, 0),
    avoid_ros_namespace_conventions=False,
)


@dataclass(frozen=True)
class BagSummary:
    """What :func:`write_bag` wrote.

    Attributes:
        bag_path: the rosbag2 directory.
        ground_truth_path: the ground-truth JSON beside it.
        storage: ``"mcap"`` or ``"sqlite3"``.
        num_messages: messages written, all topics.
        frames_per_camera: images written per camera name.
        dropped_per_camera: frames dropped per camera name.
    """

    bag_path: Path
    ground_truth_path: Path
    storage: str
    num_messages: int
    frames_per_camera: dict[str, int]
    dropped_per_camera: dict[str, int]


def image_topic(camera: str) -> str:
    return f"/{camera}/image_raw"


def camera_info_topic(camera: str) -> str:
    return f"/{camera}/camera_info"


def depth_topic(camera: str) -> str:
    return f"/{camera}/depth/image_raw"


TF_STATIC_TOPIC = "/tf_static"


def check_destination(out: Path) -> None:
    """Raise ValueError naming the problem if the bag cannot be created at ``out``."""
    out = Path(out)
    parent = out.parent.resolve()
    if out.exists() or out.is_symlink():
        raise ValueError(f"{out} already exists")
    if ground_truth_path(out).exists():
        raise ValueError(f"{ground_truth_path(out)} already exists")
    if not parent.exists():
        raise ValueError(f"directory {out.parent} does not exist")
    if not parent.is_dir():
        raise ValueError(f"{out.parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"directory {out.parent} is not writable")


def write_bag(world: SyntheticWorld, out: Path, storage: str = "mcap") -> BagSummary:
    """Record ``world`` into a new rosbag2 at ``out`` and its ground truth at ``<out>.gt.json``.

    Raises:
        ValueError: unknown storage, or ``out`` cannot be created (see :func:`check_destination`).
    """
    if storage not in STORAGES:
        raise ValueError(f"unknown storage {storage!r}; choose from {', '.join(STORAGES)}")
    out = Path(out)
    check_destination(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        staged_bag = staging / out.name
        staged_gt = staging / ground_truth_path(out).name
        num_messages = _record(world, staged_bag, STORAGES[storage])
        write_ground_truth(world, storage, staged_gt)
        staged_bag.rename(out)
        try:
            staged_gt.rename(ground_truth_path(out))
        except OSError:
            shutil.rmtree(out, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("wrote %d messages to %s", num_messages, out)
    return BagSummary(
        bag_path=out,
        ground_truth_path=ground_truth_path(out),
        storage=storage,
        num_messages=num_messages,
        frames_per_camera={c.name: len(world.frame_times(i).stamp_ns) for i, c in enumerate(world.cameras)},
        dropped_per_camera={c.name: world.frame_times(i).num_dropped for i, c in enumerate(world.cameras)},
    )


def _record(world: SyntheticWorld, path: Path, plugin: StoragePlugin) -> int:
    """Write every message of the recording into a new bag at ``path``; returns the count."""
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        connections = {}
        for camera in world.cameras:
            connections[image_topic(camera.name)] = writer.add_connection(
                image_topic(camera.name), msgs.IMAGE_TYPE, typestore=msgs.TYPESTORE
            )
            connections[camera_info_topic(camera.name)] = writer.add_connection(
                camera_info_topic(camera.name), msgs.CAMERA_INFO_TYPE, typestore=msgs.TYPESTORE
            )
            if world.config.with_depth:
                connections[depth_topic(camera.name)] = writer.add_connection(
                    depth_topic(camera.name), msgs.IMAGE_TYPE, typestore=msgs.TYPESTORE
                )
        tf_connection = writer.add_connection(
            TF_STATIC_TOPIC, msgs.TF_MESSAGE_TYPE, typestore=msgs.TYPESTORE, offered_qos_profiles=[TF_STATIC_QOS]
        )
        start_ns = seconds_to_ns(world.t0_s)
        tf_message = msgs.static_transforms(world.cameras, start_ns)
        writer.write(tf_connection, start_ns, msgs.serialize(tf_message, msgs.TF_MESSAGE_TYPE))
        count = 1
        for log_ns, i, frame in heapq.merge(*(_logged_frames(world, i) for i in range(len(world.cameras)))):
            for topic, message, msgtype in _frame_messages(world, i, frame):
                writer.write(connections[topic], log_ns, msgs.serialize(message, msgtype))
                count += 1
    return count


def _logged_frames(world: SyntheticWorld, i: int) -> Iterator[tuple[int, int, Frame]]:
    """Camera ``i``'s frames with the log time a recorder would give them, in order."""
    config = world.config
    rng = stream_rng(config.seed, RandomStream.LATENCY, i)
    for capture_s, frame in zip(world.frame_times(i).capture_s, world.frames(i)):
        latency_s = config.transport_latency_s + rng.uniform(0.0, config.latency_jitter_s)
        yield seconds_to_ns(capture_s + latency_s), i, frame


def _frame_messages(world: SyntheticWorld, i: int, frame: Frame) -> list[tuple[str, object, str]]:
    """(topic, message, type) of everything camera ``i`` publishes for one frame."""
    camera = world.cameras[i]
    frame_id = msgs.optical_frame(camera.name)
    out = [
        (image_topic(camera.name), msgs.rgb_image(frame.rgb, frame.stamp_ns, frame_id), msgs.IMAGE_TYPE),
        (camera_info_topic(camera.name), msgs.camera_info(camera, frame.stamp_ns), msgs.CAMERA_INFO_TYPE),
    ]
    if frame.depth_m is not None:
        out.append((depth_topic(camera.name), msgs.depth_image(frame.depth_m, frame.stamp_ns, frame_id), msgs.IMAGE_TYPE))
    return out
