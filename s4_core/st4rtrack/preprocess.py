"""Fit camera images to the network input (scale to cover, centre crop) and map pixels back.

Pixel centres are at integer coordinates (OpenCV, as in :mod:`s4_core.camera`); the mapping
``model = (original + 0.5) * scale - 0.5 - offset`` is exact for the resize used here.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class InputCrop:
    """How an original image became the network input.

    Attributes:
        original_size_wh: original (width, height), pixels.
        input_size_wh: network input (width, height), pixels.
        resized_size_wh: size after scaling, before the centre crop.
        offset_xy: pixels cropped from the left and top of the resized image.
    """

    original_size_wh: tuple[int, int]
    input_size_wh: tuple[int, int]
    resized_size_wh: tuple[int, int]
    offset_xy: tuple[int, int]

    @property
    def scale_xy(self) -> np.ndarray:
        """Network pixels per original pixel along x and y [2]."""
        return np.array(self.resized_size_wh, float) / np.array(self.original_size_wh, float)

    def to_original(self, uv_input: np.ndarray) -> np.ndarray:
        """Network-input pixel coordinates [..., 2] to original image coordinates [..., 2]."""
        return (np.asarray(uv_input, float) + 0.5 + np.array(self.offset_xy)) / self.scale_xy - 0.5

    def to_input(self, uv_original: np.ndarray) -> np.ndarray:
        """Original pixel coordinates [..., 2] to network-input coordinates [..., 2]."""
        return (np.asarray(uv_original, float) + 0.5) * self.scale_xy - 0.5 - np.array(self.offset_xy)

    def intrinsics_to_original(self, K_input: np.ndarray) -> np.ndarray:
        """Intrinsics [3, 3] of the network input expressed for the original image."""
        K = np.array(K_input, float)
        sx, sy = self.scale_xy
        K[0, 0], K[1, 1] = K[0, 0] / sx, K[1, 1] / sy
        K[:2, 2] = self.to_original(K[:2, 2])
        return K


def plan_input_crop(original_size_wh: tuple[int, int], input_size_wh: tuple[int, int]) -> InputCrop:
    """Scale so the image covers the input (no padding), then centre-crop the excess."""
    width, height = original_size_wh
    in_w, in_h = input_size_wh
    scale = max(in_w / width, in_h / height)
    resized = (max(in_w, round(width * scale)), max(in_h, round(height * scale)))
    offset = ((resized[0] - in_w) // 2, (resized[1] - in_h) // 2)
    return InputCrop(tuple(original_size_wh), tuple(input_size_wh), resized, offset)


def images_to_input(images_rgb: np.ndarray, crop: InputCrop) -> Tensor:
    """uint8 RGB images [B, H, W, 3] to the network's normalized input [B, 3, h, w] in [-1, 1].

    Raises:
        ValueError: wrong dtype, channels or size for ``crop``.
    """
    images_rgb = np.asarray(images_rgb)
    width, height = crop.original_size_wh
    if images_rgb.dtype != np.uint8 or images_rgb.ndim != 4 or images_rgb.shape[1:] != (height, width, 3):
        raise ValueError(f"images must be [B, {height}, {width}, 3] uint8, got {images_rgb.shape} {images_rgb.dtype}")
    downscale = crop.resized_size_wh[0] < width
    interpolation = cv2.INTER_AREA if downscale else cv2.INTER_LINEAR
    (x0, y0), (in_w, in_h) = crop.offset_xy, crop.input_size_wh
    fitted = np.stack(
        [cv2.resize(image, crop.resized_size_wh, interpolation=interpolation)[y0 : y0 + in_h, x0 : x0 + in_w] for image in images_rgb]
    )
    tensor = torch.from_numpy(fitted).permute(0, 3, 1, 2).to(torch.float32)
    return tensor / 127.5 - 1.0
