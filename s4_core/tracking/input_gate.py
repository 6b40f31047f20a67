"""Admission of frames into a tracking stream: the bad inputs a live camera produces.

Every rejected frame is logged and counted, never silently dropped, and none raises except a
frame of another camera (a wiring error that must not be papered over). Missing or invalid
depth and a missing camera model are not gate matters: the backend degrades to 2D for them.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import numpy as np

from s4_core.frames import Frame

_LOG = logging.getLogger(__name__)


class FrameVerdict(enum.Enum):
    """What the stream did with a pushed frame."""

    ACCEPTED = "accepted"
    KEYFRAME = "keyframe"  # accepted, and the tracks were re-anchored on it
    RESTARTED = "restarted"  # the image size changed: the stream was reset and starts here
    SKIPPED_STAMP = "skipped_stamp"  # stamp repeated or going backwards
    SKIPPED_FROZEN = "skipped_frozen"  # image identical to the previous one


@dataclass(frozen=True)
class StreamHealth:
    """Counters of one stream since it was created.

    Attributes:
        accepted: frames taken into the window.
        skipped_stamp: frames skipped for a repeated or backwards stamp.
        skipped_frozen: frames skipped because the image repeated the previous one exactly.
        restarts: resets caused by an image size change.
        frozen: whether the latest frame with a valid stamp was a frozen repeat.
    """

    accepted: int = 0
    skipped_stamp: int = 0
    skipped_frozen: int = 0
    restarts: int = 0
    frozen: bool = False


class FrameGate:
    """Decides whether a frame may enter the stream.

    A frozen camera is detected by exact equality with the previous image: a live sensor
    always has some noise, so an identical image is a repeated buffer, not a static scene, and
    tracking it would report zero motion at a time the camera did not observe.
    """

    def __init__(self, camera: str) -> None:
        self.camera = camera
        self._health = StreamHealth()
        self._last: Frame | None = None

    @property
    def health(self) -> StreamHealth:
        return self._health

    def forget_last(self) -> None:
        """Start over as if no frame had been seen (counters are kept)."""
        self._last = None

    def admit(self, frame: Frame) -> FrameVerdict:
        """Verdict for ``frame``: ACCEPTED, RESTARTED or one of the SKIPPED kinds."""
        if frame.camera != self.camera:
            raise ValueError(f"frame of camera {frame.camera!r} pushed into the stream of {self.camera!r}")
        last = self._last
        if last is not None and frame.stamp_ns <= last.stamp_ns:
            _LOG.warning(
                "%s: skipping frame stamped %d ns, not after the previous %d ns", self.camera, frame.stamp_ns, last.stamp_ns
            )
            return self._count(FrameVerdict.SKIPPED_STAMP)
        if last is not None and frame.size_hw != last.size_hw:
            _LOG.warning("%s: image size changed %s -> %s, restarting the stream", self.camera, last.size_hw, frame.size_hw)
            self._last = frame
            return self._count(FrameVerdict.RESTARTED)
        if last is not None and np.array_equal(frame.rgb, last.rgb):
            if not self._health.frozen:
                _LOG.warning("%s: image identical to the previous one, camera frozen; skipping", self.camera)
            return self._count(FrameVerdict.SKIPPED_FROZEN)
        if self._health.frozen:
            _LOG.info("%s: camera live again", self.camera)
        self._last = frame
        return self._count(FrameVerdict.ACCEPTED)

    def _count(self, verdict: FrameVerdict) -> FrameVerdict:
        h = self._health
        self._health = StreamHealth(
            accepted=h.accepted + (verdict in (FrameVerdict.ACCEPTED, FrameVerdict.RESTARTED)),
            skipped_stamp=h.skipped_stamp + (verdict is FrameVerdict.SKIPPED_STAMP),
            skipped_frozen=h.skipped_frozen + (verdict is FrameVerdict.SKIPPED_FROZEN),
            restarts=h.restarts + (verdict is FrameVerdict.RESTARTED),
            frozen=h.frozen if verdict is FrameVerdict.SKIPPED_STAMP else verdict is FrameVerdict.SKIPPED_FROZEN,
        )
        return verdict
