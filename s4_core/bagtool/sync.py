"""Offline sync of a recorded rosbag2: the whole of ``s4 sync-bag`` apart from its command line.

One pass streams the recording in log-time order through the same streaming pipeline the live
nodes use, copying every message unchanged into the output and adding the pipeline's results
beside them; a second pass re-stamps each camera's messages with the final offsets. Memory is
bounded by the pipeline's window and a few held frames, never by the recording's length.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rosbags.interfaces import Connection
from rosbags.rosbag2 import Reader
from rosbags.rosbag2.errors import ReaderError

from s4_core.bagtool.cdr_header import header_stamp_ns
from s4_core.bagtool.depth_pairing import DepthPairer, DepthPairingConfig
from s4_core.bagtool.discovery import CameraOverride, CameraTopics, cameras_from_overrides, discover_cameras
from s4_core.bagtool.frame_decoding import depth_m_of, rgb_of
from s4_core.bagtool.staged_writer import STORAGES, StagedBagWriter, check_new_path
from s4_core.bagtool.survey import RecordingSurvey, survey_recording
from s4_core.bagtool.synced_topics import restampable, write_synced_topics
from s4_core.bagtool.typestore import s4_typestore
from s4_core.bagtool.update_writer import OffsetSample, UpdateWriter
from s4_core.camera import PinholeCamera
from s4_core.clock import ns_to_seconds
from s4_core.frames import Frame
from s4_core.offsets import ClockOffset

log = logging.getLogger(__name__)

#: Errors a damaged recording raises while it is read.
READ_ERRORS = (ReaderError, sqlite3.DatabaseError, struct.error, EOFError, OverflowError)

#: Frame of splat positions when the rig has no TF tree.
DEFAULT_WORLD_FRAME = "world"

#: Frames pushed to the pipeline at once: a batch spanning a keyframe interval of each camera
#: lets the pipeline track the cameras concurrently. Bounded in count and in bytes, so that
#: high-resolution rigs do not hold more than a few hundred MB of decoded frames.
BATCH_MAX_FRAMES = 64
BATCH_MAX_BYTES = 256 * 2**20


class BagSyncError(ValueError):
    """The recording or the options cannot be synced (a user error, with a one-line message)."""


class FramePipeline(Protocol):
    """What the bag tool needs of :class:`s4_core.pipeline.StreamingPipeline`."""

    def add_frames(self, frames: list[Frame]) -> list: ...

    def finish(self) -> list: ...

    def offsets(self) -> dict[str, ClockOffset]: ...


#: Builds the pipeline for the rig found in the recording: (camera models, reference camera).
PipelineFactory = Callable[[dict[str, PinholeCamera | None], str], FramePipeline]


@dataclass(frozen=True)
class BagSyncOptions:
    """What to sync and how, besides the pipeline's own configuration.

    Attributes:
        reference_camera: camera whose clock is reference time; None for the first by name.
        storage: output storage, ``"mcap"`` or ``"sqlite3"``; None for the input's.
        cameras: ``--camera`` overrides; when given, exactly these cameras are synced.
        depth_pairing: how images and depth maps are matched.
    """

    reference_camera: str | None = None
    storage: str | None = None
    cameras: tuple[CameraOverride, ...] = ()
    depth_pairing: DepthPairingConfig = field(default_factory=DepthPairingConfig)


@dataclass(frozen=True)
class SyncProgress:
    """Where a run is, for a progress display.

    Attributes:
        phase: ``"sync"`` (first pass) or ``"restamp"`` (second pass).
        messages_done: messages handled in this phase.
        recording_done_s: log time covered in this phase, seconds since the recording's start.
        recording_s: length of the recording, seconds.
    """

    phase: str
    messages_done: int
    recording_done_s: float
    recording_s: float

    @property
    def fraction(self) -> float:
        """Share of this phase done, in [0, 1] (by log time: the passes read in log-time order)."""
        return min(1.0, self.recording_done_s / self.recording_s) if self.recording_s > 0 else 1.0


@dataclass(frozen=True)
class BagSyncResult:
    """What a run produced.

    Attributes:
        out_path: the output bag.
        storage: its storage.
        reference_camera: the camera whose clock is reference time.
        cameras: the synced cameras' topics.
        world_frame: TF frame the camera extrinsics came in, None without a common TF tree.
        frames_per_camera: frames fed to the pipeline per camera.
        offsets: final estimate per camera (the reference camera included).
        history: per camera the estimates over the recording.
        messages_copied: input messages copied unchanged.
        messages_added: messages the run added (results and synced topics).
        recording_s: length of the recording, seconds of log time.
        wall_s: wall time of the run, seconds.
    """

    out_path: Path
    storage: str
    reference_camera: str
    cameras: list[CameraTopics]
    world_frame: str | None
    frames_per_camera: dict[str, int]
    offsets: dict[str, ClockOffset]
    history: dict[str, list[OffsetSample]]
    messages_copied: int
    messages_added: int
    recording_s: float
    wall_s: float


def sync_bag(
    in_path: Path,
    out_path: Path,
    pipeline_factory: PipelineFactory,
    options: BagSyncOptions = BagSyncOptions(),
    on_progress: Callable[[SyncProgress], None] = lambda progress: None,
) -> BagSyncResult:
    """Sync the cameras of the recording at ``in_path`` into a new bag at ``out_path``.

    Raises:
        BagSyncError: the input is missing, damaged or has no usable camera, an option names
            something the recording lacks, or ``out_path`` exists. Nothing is left at
            ``out_path`` then.
    """
    start = time.perf_counter()
    in_path, out_path = Path(in_path), Path(out_path)
    try:
        check_new_path(out_path)
    except ValueError as error:
        raise BagSyncError(str(error)) from None
    with _reading(in_path) as reader:
        storage = options.storage or storage_of(in_path)
        if storage not in STORAGES:
            raise BagSyncError(f"unknown storage {storage!r}; choose from {', '.join(STORAGES)}")
        survey = survey_recording(reader, _cameras(reader, options))
        reference = _reference_camera(survey, options.reference_camera)
        pipeline = pipeline_factory(dict(survey.calibration.cameras), reference)
        try:
            with StagedBagWriter(out_path, storage) as writer:
                run = _FirstPass(reader, writer, survey, reference, options.depth_pairing, on_progress)
                run.stream(pipeline)
                offsets = pipeline.offsets()
                restamped = write_synced_topics(
                    reader, writer, survey.cameras, restampable(offsets), _progress_counter(reader, "restamp", on_progress)
                )
                writer.commit()
        except OSError as error:  # a full disk, a lost mount: the staged output is gone already
            raise BagSyncError(f"syncing {in_path} into {out_path} failed: {error}") from None
        recording_s = _recording_s(reader)
    return BagSyncResult(
        out_path=out_path,
        storage=storage,
        reference_camera=reference,
        cameras=survey.cameras,
        world_frame=survey.calibration.world_frame,
        frames_per_camera=run.frames_per_camera,
        offsets=offsets,
        history=run.updates.history,
        messages_copied=run.messages_copied,
        messages_added=run.updates.messages_written + restamped,
        recording_s=recording_s,
        wall_s=time.perf_counter() - start,
    )


def storage_of(bag: Path) -> str:
    """``"mcap"`` or ``"sqlite3"``, from the storage files of a bag directory (or a bare file)."""
    names = [bag.name] if bag.is_file() else [p.name for p in bag.iterdir()]
    if any(".mcap" in name for name in names):
        return "mcap"
    if any(".db3" in name for name in names):
        return "sqlite3"
    raise BagSyncError(f"{bag} holds no .mcap or .db3 storage file")


class _FirstPass:
    """Copies every message and feeds the camera frames to the pipeline, writing its updates."""

    def __init__(
        self,
        reader: Reader,
        writer: StagedBagWriter,
        survey: RecordingSurvey,
        reference: str,
        depth_pairing: DepthPairingConfig,
        on_progress: Callable[[SyncProgress], None],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._roles = {c.image_topic: (c, "image") for c in survey.cameras}
        self._roles.update({c.depth_topic: (c, "depth") for c in survey.cameras if c.depth_topic})
        self._pairer = DepthPairer(
            survey.calibration.cameras, {c.name for c in survey.cameras if c.depth_topic}, depth_pairing
        )
        self._failed_topics: set[str] = set()
        self._on_message = _progress_counter(reader, "sync", on_progress)
        self.updates = UpdateWriter(writer, reference, survey.calibration.world_frame or DEFAULT_WORLD_FRAME)
        self.frames_per_camera = {c.name: 0 for c in survey.cameras}
        self.messages_copied = 0

    def stream(self, pipeline: FramePipeline) -> None:
        """Run the pass to the end of the recording, then flush the pipeline."""
        copies: dict[int, Connection] = {c.id: self._writer.copy_connection(c) for c in self._reader.connections}
        last_log_time_ns = self._reader.start_time
        batch = _FrameBatch()
        with _OverlappedFeed(pipeline, self.updates) as feed:
            for connection, log_time_ns, raw in self._reader.messages():
                self._writer.write(copies[connection.id], log_time_ns, raw)
                self.messages_copied += 1
                for frame in self._frames(connection, raw):
                    self.frames_per_camera[frame.camera] += 1
                    if batch.add(frame):
                        feed.push(batch.take(), log_time_ns)
                self._on_message(log_time_ns)
                last_log_time_ns = log_time_ns
            for frame in self._pairer.flush():
                self.frames_per_camera[frame.camera] += 1
                batch.add(frame)
            feed.push(batch.take(), last_log_time_ns)
        if self._pairer.unpaired_images:
            log.warning("%d images had no depth map within tolerance", self._pairer.unpaired_images)
        for update in pipeline.finish():
            self.updates.write(update, last_log_time_ns)

    def _frames(self, connection: Connection, raw: bytes) -> list[Frame]:
        role = self._roles.get(connection.topic)
        if role is None:
            return []
        camera, kind = role
        try:
            message = s4_typestore().deserialize_cdr(raw, connection.msgtype)
            if kind == "depth":
                return self._pairer.add_depth(camera.name, header_stamp_ns(raw), depth_m_of(message))
            return self._pairer.add_image(camera.name, header_stamp_ns(raw), rgb_of(message, connection.msgtype))
        except ValueError as error:
            level = logging.DEBUG if connection.topic in self._failed_topics else logging.WARNING
            log.log(level, "skipping a message of %s: %s", connection.topic, error)
            self._failed_topics.add(connection.topic)
            return []


class _FrameBatch:
    """Decoded frames waiting to be pushed together (see :data:`BATCH_MAX_FRAMES`)."""

    def __init__(self) -> None:
        self._frames: list[Frame] = []
        self._bytes = 0

    def add(self, frame: Frame) -> bool:
        """Hold ``frame``; whether the batch is now full."""
        self._frames.append(frame)
        self._bytes += frame.rgb.nbytes + (frame.depth_m.nbytes if frame.depth_m is not None else 0)
        return len(self._frames) >= BATCH_MAX_FRAMES or self._bytes >= BATCH_MAX_BYTES

    def take(self) -> list[Frame]:
        """The held frames, in the order they were added; the batch is empty afterwards."""
        frames, self._frames, self._bytes = self._frames, [], 0
        return frames


class _OverlappedFeed:
    """Pushes batches to the pipeline on a worker thread, one at a time and in order, so that
    reading, copying and decoding the next batch overlaps the pipeline's work on this one.

    A batch's updates are written (from the caller's thread, the writer's only user) when the
    next batch is pushed or the feed closes, at the log time of the batch's last message: all
    the frames they may come from have been read by then.
    """

    def __init__(self, pipeline: FramePipeline, updates: UpdateWriter) -> None:
        self._pipeline = pipeline
        self._updates = updates
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="s4-bag-pipeline")
        self._pending: tuple[Future, int] | None = None

    def __enter__(self) -> _OverlappedFeed:
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if exc_info[0] is None:
                self._write_pending()
        finally:
            self._worker.shutdown(wait=True, cancel_futures=True)

    def push(self, frames: list[Frame], log_time_ns: int) -> None:
        """Hand ``frames`` to the pipeline once it is done with the previous batch."""
        self._write_pending()
        if frames:
            self._pending = (self._worker.submit(self._pipeline.add_frames, frames), log_time_ns)

    def _write_pending(self) -> None:
        if self._pending is not None:
            future, log_time_ns = self._pending
            self._pending = None
            for update in future.result():  # re-raises what the pipeline raised
                self._updates.write(update, log_time_ns)


@contextmanager
def _reading(in_path: Path) -> Iterator[Reader]:
    """An open reader whose read errors become one-line :class:`BagSyncError`."""
    try:
        reader = Reader(in_path)
        reader.open()
    except (OSError, *READ_ERRORS) as error:
        raise BagSyncError(f"cannot read {in_path}: {error}") from None
    try:
        yield reader
    except READ_ERRORS as error:
        raise BagSyncError(f"{in_path} is damaged (truncated?): {error}") from None
    finally:
        reader.close()


def _cameras(reader: Reader, options: BagSyncOptions) -> list[CameraTopics]:
    topic_types = {c.topic: c.msgtype for c in reader.connections}
    if options.cameras:
        try:
            return cameras_from_overrides(list(options.cameras), topic_types)
        except ValueError as error:
            raise BagSyncError(str(error)) from None
    cameras = discover_cameras(topic_types)
    if not cameras:
        raise BagSyncError("the recording has no camera (no sensor_msgs Image or CompressedImage topic)")
    return cameras


def _reference_camera(survey: RecordingSurvey, requested: str | None) -> str:
    names = [c.name for c in survey.cameras]
    if not names:
        raise BagSyncError(f"no usable camera: {'; '.join(f'{k}: {v}' for k, v in survey.skipped.items())}")
    if requested is None:
        return names[0]
    if requested not in names:
        raise BagSyncError(f"reference camera {requested!r} is not among the usable cameras {', '.join(names)}")
    return requested


def _progress_counter(reader: Reader, phase: str, on_progress: Callable[[SyncProgress], None]) -> Callable[[int], None]:
    """A per-message callback that counts and reports progress of one phase."""
    recording_s = _recording_s(reader)
    done = 0

    def on_message(log_time_ns: int) -> None:
        nonlocal done
        done += 1
        on_progress(SyncProgress(phase, done, ns_to_seconds(log_time_ns - reader.start_time), recording_s))

    return on_message


def _recording_s(reader: Reader) -> float:
    return ns_to_seconds(max(0, reader.end_time - reader.start_time))

