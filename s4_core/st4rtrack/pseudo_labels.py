"""Test-time adaptation on a window with the geometric backend's tracks as pseudo-labels.

The geometric backend (pyramidal Lucas-Kanade, forward-backward checked) gives sub-pixel 2D
tracks wherever the image is textured, and the frames' depth where a depth camera exists;
St4RTrack's TTA losses (:mod:`s4_core.st4rtrack.tta`) take exactly those, in network-input
pixels. This module converts one into the other and runs :func:`~s4_core.st4rtrack.tta.adapt`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from s4_core.frames import Frame
from s4_core.st4rtrack.model import St4RTrackNet
from s4_core.st4rtrack.preprocess import InputCrop, images_to_input, plan_input_crop
from s4_core.st4rtrack.tta import PseudoLabels, TTAConfig, TTAWindow, adapt
from s4_core.tracking.geometric import GeometricBackend


def depth_to_input(depth_m: np.ndarray, crop: InputCrop) -> np.ndarray:
    """z-depth [H, W] resized (nearest: no blending across depth edges) and cropped like the images."""
    resized = cv2.resize(np.asarray(depth_m, np.float32), crop.resized_size_wh, interpolation=cv2.INTER_NEAREST)
    (x0, y0), (width, height) = crop.offset_xy, crop.input_size_wh
    return resized[y0 : y0 + height, x0 : x0 + width]


def intrinsics_to_input(K_original: np.ndarray, crop: InputCrop) -> np.ndarray:
    """Intrinsics [3, 3] of an original image expressed for the network input (inverse of
    ``InputCrop.intrinsics_to_original``)."""
    K = np.array(K_original, float)
    sx, sy = crop.scale_xy
    K[0, 0], K[1, 1] = K[0, 0] * sx, K[1, 1] * sy
    K[:2, 2] = crop.to_input(K[:2, 2])
    return K


def geometric_pseudo_labels(
    frames: Sequence[Frame], crop: InputCrop, backend: GeometricBackend | None = None, query_uv: np.ndarray | None = None
) -> PseudoLabels:
    """2D tracks (and depth, when every frame has it) of the geometric backend, in input pixels.

    Args:
        frames: the window, anchor first.
        crop: how the frames become network inputs.
        backend: the geometric backend (a fresh default one when None).
        query_uv: anchor pixels [N, 2] (original image) to track; None lets the backend choose.
    """
    tracks = (backend or GeometricBackend()).track_window(frames, query_uv)
    uv_input = crop.to_input(np.nan_to_num(tracks.uv.astype(np.float64)))  # [T, N, 2]
    visible = tracks.visible & np.all(np.isfinite(tracks.uv), axis=-1)
    depth = None
    if all(frame.depth_m is not None for frame in frames):
        depth = torch.from_numpy(np.stack([depth_to_input(frame.depth_m, crop) for frame in frames]))
    return PseudoLabels(tracks_uv=torch.from_numpy(uv_input).float(), visible=torch.from_numpy(visible), depth_m=depth)


def adapt_with_geometric_labels(
    model: St4RTrackNet,
    frames: Sequence[Frame],
    steps: int = 10,
    lr: float = 5e-5,
    config: TTAConfig = TTAConfig(),
    static_camera: bool = True,
    query_uv: np.ndarray | None = None,
) -> list[dict[str, float]]:
    """Fine-tune ``model`` on one window against geometric pseudo-labels (see :func:`adapt`).

    The intrinsics come from the anchor's calibration when it has one (else the focal is
    re-estimated from the pointmap every step).

    Returns:
        The TTA loss terms before each step and after the last one.
    """
    anchor = frames[0]
    crop = plan_input_crop((anchor.size_hw[1], anchor.size_hw[0]), model.config.input_size_wh)
    device = next(model.parameters()).device
    inputs = images_to_input(np.stack([frame.rgb for frame in frames]), crop).to(device)
    K = None if anchor.model is None else torch.from_numpy(intrinsics_to_input(anchor.model.K, crop)).float().to(device)
    labels = geometric_pseudo_labels(frames, crop, query_uv=query_uv)
    labels = PseudoLabels(
        tracks_uv=labels.tracks_uv.to(device),
        visible=labels.visible.to(device),
        depth_m=None if labels.depth_m is None else labels.depth_m.to(device),
    )
    window = TTAWindow(anchor=inputs[:1], frames=inputs, K=K, static_camera=static_camera)
    return adapt(model, window, labels, steps=steps, lr=lr, config=config)
