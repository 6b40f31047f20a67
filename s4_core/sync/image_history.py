"""A camera's recent grey images, kept small, and where in each of them something is moving.

Timing calibrated RGB-only cameras needs to know, per frame, *where* each camera saw motion *at
that instant*. A pixel is dynamic in frame k when its grey level differs clearly from *both* the
frame a short interval before k and the one after (frame differencing): that marks where a
moving object is at k, not where it was or will be. A median background would mark
everything that moved at some time in the window (a person standing in view, an object that
only shifts slowly): that is true at every instant, so it says nothing about which instant.
The distance of every pixel to the nearest dynamic one makes "does this viewing ray pass
through something moving now" smooth in the position of the ray.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import cv2
import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.clock import NS_PER_S
from s4_core.sync.stamped_window import StampedWindow, subsampled_camera


@dataclass(frozen=True)
class ImageHistoryConfig:
    """Hyperparameters of :class:`ImageHistory`.

    Attributes:
        stride_px: keep every n-th pixel in both directions, after a blur of that size.
        window_s: seconds of history kept (camera clock).
        change_interval_s: a pixel is compared with the frames this long before and after
            (at least the neighbouring frames), seconds.
        change_threshold: grey levels (0-255) by which a dynamic pixel changed.
        min_frames: frames needed before motion is looked for.
    """

    stride_px: int = 2
    window_s: float = 8.0
    change_interval_s: float = 0.1
    change_threshold: float = 20.0
    min_frames: int = 10

    def __post_init__(self) -> None:
        if self.stride_px < 1 or self.window_s <= 0 or self.change_interval_s < 0 or not 0 < self.change_threshold < 255:
            raise ValueError(f"invalid image history config {self}")


class ImageHistory:
    """Sliding window of one camera's subsampled grey images.

    Example:
        history = ImageHistory(camera_model, ImageHistoryConfig())
        history.push(frame.stamp_ns, frame.rgb)
        distance_px = history.distance_to_motion_px(history.num_frames - 1)  # [h, w]
    """

    def __init__(self, model: PinholeCamera, config: ImageHistoryConfig = ImageHistoryConfig()) -> None:
        self.config = config
        self.full_model = model
        self.model = subsampled_camera(model, config.stride_px)
        self._greys = StampedWindow(config.window_s)
        self._distances: dict[int, np.ndarray] = {}

    @property
    def num_frames(self) -> int:
        return len(self._greys)

    @property
    def stamps_s(self) -> np.ndarray:
        """Stamps [T] in the camera's clock, seconds."""
        return self._greys.stamps_ns / NS_PER_S

    def push(self, stamp_ns: int, rgb: np.ndarray) -> None:
        """Add an image [H, W, 3] uint8; drop what left the window."""
        if rgb.shape != (self.full_model.height, self.full_model.width, 3):
            raise ValueError(f"image {rgb.shape} does not match camera {self.full_model.name}")
        s = self.config.stride_px
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if s > 1:
            grey = cv2.blur(grey, (s, s))  # the kept pixels carry local means: less noise, no aliasing
        if self._greys.push(stamp_ns, np.ascontiguousarray(grey[::s, ::s])):
            self._distances.clear()  # the frame indices shifted

    def snapshot(self) -> ImageHistory:
        """A copy that later pushes do not change, for an estimate running on another thread
        while this history takes the next frames (cheap: the images are shared, not copied)."""
        twin = copy.copy(self)
        twin._greys, twin._distances = self._greys.copy(), dict(self._distances)
        return twin

    @property
    def ready(self) -> bool:
        """Whether enough frames are kept to look for motion."""
        return self.num_frames >= self.config.min_frames

    def dynamic_mask(self, index: int) -> np.ndarray:
        """Pixels [h, w] of frame ``index`` that differ clearly from the frames around it (from
        the one neighbour there is at either end of the window)."""
        index = index % self.num_frames
        grey = self._greys[index].astype(np.int16)
        if not self.ready:
            return np.zeros(grey.shape, bool)
        stamps = self._greys.stamps_ns
        interval_ns = round(self.config.change_interval_s * NS_PER_S)
        before = min(index - 1, int(np.searchsorted(stamps, stamps[index] - interval_ns, side="right")) - 1)
        after = max(index + 1, int(np.searchsorted(stamps, stamps[index] + interval_ns)))
        neighbours = [other for other in (before, after) if 0 <= other < self.num_frames]
        mask = np.ones(grey.shape, bool)
        for other in neighbours:
            mask &= np.abs(grey - self._greys[other].astype(np.int16)) > self.config.change_threshold
        return mask

    def distance_to_motion_px(self, index: int) -> np.ndarray:
        """Distance [h, w] (subsampled pixels) from every pixel to the nearest dynamic pixel of
        frame ``index``; the image's width plus height where the frame has none."""
        index = index % self.num_frames
        if index not in self._distances:
            mask = self.dynamic_mask(index)
            if mask.any():
                distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
            else:
                distance = np.full(mask.shape, float(sum(mask.shape)), np.float32)
            self._distances[index] = distance
        return self._distances[index]
