"""A camera's recent grey images, kept small, and where in each of them something is moving.

Timing calibrated RGB-only cameras needs to know, per frame, *where* each camera saw motion *at
that instant*. A pixel is dynamic in frame k when its grey level differs clearly from *both* the
frame a short interval before k and the one after (frame differencing): that marks where a
moving object is at k, not where it was or will be. A median background would fail on what
moves but stays in place (a body turning or wandering around one spot is in the background
more than half the time), and would mark what left long ago as long as the median lags.

"Clearly" is relative to the camera's noise, measured on the images themselves: the spread of
the grey-level change between consecutive frames over all pixels, most of which are still.
A fixed threshold in grey levels would miss low-contrast motion on a clean camera and mark
noise on a grainy one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import cv2
import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.clock import NS_PER_S
from s4_core.robust_stats import SIGMA_PER_MAD
from s4_core.sync.stamped_window import StampedWindow, subsampled_camera


@dataclass(frozen=True)
class ImageHistoryConfig:
    """Hyperparameters of :class:`ImageHistory`.

    Attributes:
        stride_px: keep every n-th pixel in both directions, after a blur of that size.
        window_s: seconds of history kept (camera clock).
        change_interval_s: a pixel is compared with the frames this long before and after
            (at least the neighbouring frames), seconds.
        change_sigmas: a dynamic pixel changed by this many standard deviations of the
            frame-to-frame change of a still pixel (measured, at least one grey level).
        noise_frame_pairs: consecutive frame pairs, spread over the window, that measure it.
        min_frames: frames needed before motion is looked for.
    """

    stride_px: int = 2
    window_s: float = 8.0
    change_interval_s: float = 0.1
    change_sigmas: float = 5.5
    noise_frame_pairs: int = 8
    min_frames: int = 10

    def __post_init__(self) -> None:
        positive = (self.stride_px, self.window_s, self.change_sigmas, self.noise_frame_pairs)
        if min(positive) <= 0 or self.change_interval_s < 0:
            raise ValueError(f"invalid image history config {self}")


class ImageHistory:
    """Sliding window of one camera's subsampled grey images.

    Example:
        history = ImageHistory(camera_model, ImageHistoryConfig())
        history.push(frame.stamp_ns, frame.rgb)
        moving = history.dynamic_mask(history.num_frames - 1)  # [h, w] bool
    """

    def __init__(self, model: PinholeCamera, config: ImageHistoryConfig = ImageHistoryConfig()) -> None:
        self.config = config
        self.full_model = model
        self.model = subsampled_camera(model, config.stride_px)
        self._greys = StampedWindow(config.window_s)
        self._masks: dict[int, np.ndarray] = {}
        self._threshold: float | None = None

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
            self._masks.clear()  # the frame indices shifted
            self._threshold = None

    def snapshot(self) -> ImageHistory:
        """A copy that later pushes do not change, for an estimate running on another thread
        while this history takes the next frames (cheap: the images are shared, not copied)."""
        twin = copy.copy(self)
        twin._greys, twin._masks = self._greys.copy(), dict(self._masks)
        return twin

    @property
    def ready(self) -> bool:
        """Whether enough frames are kept to look for motion."""
        return self.num_frames >= self.config.min_frames

    def dynamic_mask(self, index: int) -> np.ndarray:
        """Pixels [h, w] of frame ``index`` that differ clearly from the frames around it (from
        the one neighbour there is at either end of the window)."""
        index = index % self.num_frames
        if index not in self._masks:
            self._masks[index] = self._changed_from_neighbours(index)
        return self._masks[index]

    def change_threshold(self) -> float:
        """Grey levels by which a dynamic pixel changed: ``change_sigmas`` times the spread of a
        still pixel's frame-to-frame change (``SIGMA_PER_MAD`` x the median absolute change,
        robust to the pixels that move), the spread taken as at least one grey level (8-bit
        rounding)."""
        if self._threshold is None:
            pairs = np.unique(np.linspace(1, self.num_frames - 1, self.config.noise_frame_pairs).round().astype(int))
            median_change = np.median([np.median(cv2.absdiff(self._greys[k], self._greys[k - 1])) for k in pairs])
            self._threshold = self.config.change_sigmas * max(SIGMA_PER_MAD * float(median_change), 1.0)
        return self._threshold

    def _changed_from_neighbours(self, index: int) -> np.ndarray:
        grey = self._greys[index].astype(np.int16)
        if not self.ready:
            return np.zeros(grey.shape, bool)
        stamps = self._greys.stamps_ns
        interval_ns = round(self.config.change_interval_s * NS_PER_S)
        before = min(index - 1, int(np.searchsorted(stamps, stamps[index] - interval_ns, side="right")) - 1)
        after = max(index + 1, int(np.searchsorted(stamps, stamps[index] + interval_ns)))
        neighbours = [other for other in (before, after) if 0 <= other < self.num_frames]
        threshold = self.change_threshold()
        mask = np.ones(grey.shape, bool)
        for other in neighbours:
            mask &= np.abs(grey - self._greys[other].astype(np.int16)) > threshold
        return mask
