"""Join each camera's colour images with the depth images taken at the same instant.

Drivers publish colour and aligned depth as separate topics with equal header stamps, and a
recorder may log either first. The pairer holds a few unmatched images and depth maps per
camera (bounded, so memory does not grow with the recording) and releases every image in
stamp order: with its depth when one arrives within ``tolerance_ns``, without once
``max_pending`` newer images have come and its depth has not.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.frames import Frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DepthPairingConfig:
    """How images and depth maps are matched.

    Attributes:
        tolerance_ns: largest header-stamp difference of an image and its depth, nanoseconds.
        max_pending: unmatched images (and depth maps) held per camera before giving up on them.
    """

    tolerance_ns: int = 1_000_000
    max_pending: int = 4


@dataclass(frozen=True)
class _Image:
    stamp_ns: int
    rgb: np.ndarray


class DepthPairer:
    """Turns decoded images and depth maps of several cameras into :class:`Frame` objects.

    Args:
        models: per camera its model (None when uncalibrated), attached to every frame.
        cameras_with_depth: names of the cameras whose images wait for a depth map.
        config: matching tolerances.
    """

    def __init__(
        self,
        models: dict[str, PinholeCamera | None],
        cameras_with_depth: set[str],
        config: DepthPairingConfig = DepthPairingConfig(),
    ) -> None:
        self._models = models
        self._config = config
        self._images: dict[str, deque[_Image]] = {name: deque() for name in cameras_with_depth}
        self._depths: dict[str, deque[tuple[int, np.ndarray]]] = {
            name: deque(maxlen=config.max_pending) for name in cameras_with_depth
        }
        self.unpaired_images = 0

    def add_image(self, camera: str, stamp_ns: int, rgb: np.ndarray) -> list[Frame]:
        """Frames released by a new image of ``camera`` (itself, when it needs no depth)."""
        if camera not in self._images:
            return [self._frame(camera, _Image(stamp_ns, rgb), None)]
        depth_m = self._take_depth(camera, stamp_ns)
        if depth_m is not None:
            return self._release_before(camera, stamp_ns) + [self._frame(camera, _Image(stamp_ns, rgb), depth_m)]
        pending = self._images[camera]
        pending.append(_Image(stamp_ns, rgb))
        if len(pending) > self._config.max_pending:
            return [self._unpaired(camera, pending.popleft())]
        return []

    def add_depth(self, camera: str, stamp_ns: int, depth_m: np.ndarray) -> list[Frame]:
        """Frames released by a new depth map of ``camera``."""
        pending = self._images.get(camera)
        if pending is None:
            return []
        match = next((image for image in pending if self._matches(image.stamp_ns, stamp_ns)), None)
        if match is None:
            self._depths[camera].append((stamp_ns, depth_m))
            return []
        released = self._release_before(camera, match.stamp_ns)
        pending.popleft()
        return released + [self._frame(camera, match, depth_m)]

    def flush(self) -> list[Frame]:
        """Every image still held, without depth (end of the recording)."""
        released = []
        for camera, pending in self._images.items():
            while pending:
                released.append(self._unpaired(camera, pending.popleft()))
            self._depths[camera].clear()
        return released

    def _take_depth(self, camera: str, stamp_ns: int) -> np.ndarray | None:
        depths = self._depths[camera]
        for index, (depth_stamp_ns, depth_m) in enumerate(depths):
            if self._matches(depth_stamp_ns, stamp_ns):
                del depths[index]
                return depth_m
        return None

    def _release_before(self, camera: str, stamp_ns: int) -> list[Frame]:
        """Held images of ``camera`` older than ``stamp_ns``, given up on (their depth is late)."""
        pending = self._images[camera]
        released = []
        while pending and pending[0].stamp_ns < stamp_ns and not self._matches(pending[0].stamp_ns, stamp_ns):
            released.append(self._unpaired(camera, pending.popleft()))
        return released

    def _matches(self, a_ns: int, b_ns: int) -> bool:
        return abs(a_ns - b_ns) <= self._config.tolerance_ns

    def _unpaired(self, camera: str, image: _Image) -> Frame:
        self.unpaired_images += 1
        log.debug("%s: no depth for the image stamped %d ns", camera, image.stamp_ns)
        return self._frame(camera, image, None)

    def _frame(self, camera: str, image: _Image, depth_m: np.ndarray | None) -> Frame:
        if depth_m is not None and depth_m.shape != image.rgb.shape[:2]:
            log.debug("%s: depth %s does not match image %s; dropped", camera, depth_m.shape, image.rgb.shape[:2])
            depth_m = None
        return Frame(camera, image.stamp_ns, image.rgb, depth_m, self._models.get(camera))
