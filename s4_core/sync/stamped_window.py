"""A sliding window of one camera's per-frame images, and the camera model of their pixels.

The geometric timers keep a few seconds of each camera's recent images, subsampled (they only
need to know where things moved, not fine detail), indexed by the camera's own stamps.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.clock import NS_PER_S


def subsampled_camera(model: PinholeCamera, stride_px: int) -> PinholeCamera:
    """The model of an image keeping every ``stride_px``-th pixel (pixel i is full pixel i * s)."""
    K = model.K.copy()
    K[:2] /= stride_px
    return PinholeCamera(
        model.name, -(-model.width // stride_px), -(-model.height // stride_px), K, model.world_from_camera
    )


class StampedWindow:
    """Images of one camera with strictly increasing stamps, the last ``window_s`` seconds.

    Attributes:
        first_serial: how many images have left the window: image ``i`` is the
            ``first_serial + i``-th one kept (0-based), a name that survives the window's slide.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.first_serial = 0
        self._stamps_ns: deque[int] = deque()
        self._images: deque[np.ndarray] = deque()

    def __len__(self) -> int:
        return len(self._stamps_ns)

    def __getitem__(self, index: int) -> np.ndarray:
        return self._images[index]

    @property
    def stamps_ns(self) -> np.ndarray:
        """Stamps [T] in the camera's clock, nanoseconds."""
        return np.asarray(self._stamps_ns, dtype=np.int64)

    def copy(self) -> StampedWindow:
        """An independent window over the same images (images are never modified in place)."""
        twin = StampedWindow(self.window_s)
        twin._stamps_ns, twin._images = self._stamps_ns.copy(), self._images.copy()
        twin.first_serial = self.first_serial
        return twin

    def push(self, stamp_ns: int, image: np.ndarray) -> bool:
        """Append an image; False (and nothing kept) when the stamp is not newer than the last."""
        if self._stamps_ns and stamp_ns <= self._stamps_ns[-1]:
            return False
        self._stamps_ns.append(int(stamp_ns))
        self._images.append(image)
        horizon_ns = stamp_ns - round(self.window_s * NS_PER_S)
        while self._stamps_ns and self._stamps_ns[0] < horizon_ns:
            self._stamps_ns.popleft()
            self._images.popleft()
            self.first_serial += 1
        return True

