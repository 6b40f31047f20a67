"""One camera frame as it enters s4, stamped in that camera's own clock."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s4_core.camera import PinholeCamera


@dataclass(frozen=True)
class Frame:
    """An RGB (or mono) image with optional metric depth.

    Attributes:
        camera: camera name.
        stamp_ns: header stamp in the camera's own clock, nanoseconds.
        rgb: image [H, W, 3] uint8 (mono cameras are replicated to 3 channels).
        depth_m: z-depth [H, W] float32 in metres aligned with ``rgb``; NaN or 0 where invalid.
        model: calibration, when known.
    """

    camera: str
    stamp_ns: int
    rgb: np.ndarray
    depth_m: np.ndarray | None = None
    model: PinholeCamera | None = None

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3 or self.rgb.dtype != np.uint8:
            raise ValueError(f"rgb must be [H, W, 3] uint8, got {self.rgb.shape} {self.rgb.dtype}")
        if self.depth_m is not None and self.depth_m.shape != self.rgb.shape[:2]:
            raise ValueError(f"depth {self.depth_m.shape} does not match image {self.rgb.shape[:2]}")

    @property
    def size_hw(self) -> tuple[int, int]:
        """Image height and width."""
        return int(self.rgb.shape[0]), int(self.rgb.shape[1])
