"""Bounded buffer of training frames for the incremental splat model."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import torch
from torch import Tensor

from s4_core.splat.render import RenderCamera


@dataclass(frozen=True)
class TrainingFrame:
    """One frame ready to be rendered against.

    Attributes:
        camera_name: which camera took it (selects its learnable offset correction).
        camera: render camera (float32).
        image: RGB [H, W, 3] float32 in [0, 1].
        capture_s: capture time from the given clock, model-relative seconds (before the
            learnable correction is applied).
    """

    camera_name: str
    camera: RenderCamera
    image: Tensor
    capture_s: float


class FrameWindow:
    """Last frames per camera, at most ``max_per_camera`` each, none older than the window."""

    def __init__(self, max_per_camera: int) -> None:
        self.max_per_camera = max_per_camera
        self._frames: dict[str, deque[TrainingFrame]] = {}

    def add(self, frame: TrainingFrame) -> None:
        self._frames.setdefault(frame.camera_name, deque(maxlen=self.max_per_camera)).append(frame)

    def retire_before(self, capture_s: float) -> None:
        """Drop frames captured before ``capture_s``."""
        for frames in self._frames.values():
            while frames and frames[0].capture_s < capture_s:
                frames.popleft()

    def all_frames(self) -> list[TrainingFrame]:
        return [f for frames in self._frames.values() for f in frames]

    def sample(self, generator: torch.Generator) -> TrainingFrame:
        """A uniformly drawn buffered frame."""
        frames = self.all_frames()
        return frames[int(torch.randint(len(frames), (1,), generator=generator))]

    def __len__(self) -> int:
        return sum(len(f) for f in self._frames.values())
