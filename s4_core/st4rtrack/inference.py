"""Run the network on (anchor, frame) pairs of camera images of any size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from s4_core.st4rtrack.model import St4RTrackNet
from s4_core.st4rtrack.preprocess import InputCrop, images_to_input, plan_input_crop

@dataclass(frozen=True)
class WindowPointmaps:
    """Both pointmaps for every (anchor, frame j) pair of a window, on the CPU.

    Pixel grids are the network input's; ``crop`` maps them to the original images.

    Attributes:
        pts_track: head 1, anchor pixels at time j, anchor camera coords [T, h, w, 3].
        conf_track: head 1 confidence (>= 1) [T, h, w].
        pts_recon: head 2, frame j pixels at time j, anchor camera coords [T, h, w, 3].
        conf_recon: head 2 confidence (>= 1) [T, h, w].
        anchor_tokens: anchor encoder tokens on the patch grid [h / p, w / p, C].
        crop: original <-> network-input pixel mapping.
    """

    pts_track: Tensor
    conf_track: Tensor
    pts_recon: Tensor
    conf_recon: Tensor
    anchor_tokens: Tensor
    crop: InputCrop

    @property
    def num_frames(self) -> int:
        return int(self.pts_track.shape[0])


class PairPredictor(Protocol):
    """Anything that turns an anchor and window frames into :class:`WindowPointmaps`."""

    def predict(self, anchor_rgb: np.ndarray, frames_rgb: Sequence[np.ndarray]) -> WindowPointmaps: ...


class St4RTrackPredictor:
    """Batched, gradient-free inference of :class:`St4RTrackNet` on uint8 camera images.

    Args:
        model: the network (its weights decide the quality; see ``load_st4rtrack``).
        device: "cpu", "cuda", ... ; the model is moved there.
        pairs_per_batch: pairs per forward pass (memory vs. speed).
    """

    def __init__(self, model: St4RTrackNet, device: str | torch.device = "cpu", pairs_per_batch: int = 4) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.pairs_per_batch = max(1, pairs_per_batch)

    @torch.inference_mode()
    def predict(self, anchor_rgb: np.ndarray, frames_rgb: Sequence[np.ndarray]) -> WindowPointmaps:
        """Pointmaps for (anchor, frame j) for every frame.

        Args:
            anchor_rgb: anchor image [H, W, 3] uint8.
            frames_rgb: T images [H, W, 3] uint8 of the same camera (include the anchor itself
                to get its own pointmap at time 0).
        """
        height, width = np.shape(anchor_rgb)[:2]
        if any(np.shape(frame) != np.shape(anchor_rgb) for frame in frames_rgb) or not len(frames_rgb):
            raise ValueError("frames must be a non-empty list of images shaped like the anchor")
        crop = plan_input_crop((width, height), self.model.config.input_size_wh)
        anchor = images_to_input(np.asarray(anchor_rgb)[None], crop).to(self.device)
        chunks = []
        for start in range(0, len(frames_rgb), self.pairs_per_batch):
            batch = images_to_input(np.stack(frames_rgb[start : start + self.pairs_per_batch]), crop)
            chunks.append(self.model(anchor, batch.to(self.device)))
        return WindowPointmaps(
            pts_track=torch.cat([c.pts_track for c in chunks]).float().cpu(),
            conf_track=torch.cat([c.conf_track for c in chunks]).float().cpu(),
            pts_recon=torch.cat([c.pts_recon for c in chunks]).float().cpu(),
            conf_recon=torch.cat([c.conf_recon for c in chunks]).float().cpu(),
            anchor_tokens=chunks[0].anchor_tokens.float().cpu(),
            crop=crop,
        )
