"""Test-time adaptation of St4RTrack on one window from pseudo-labels (paper, Sec. TTA).

Losses, all on the pairs (anchor, frame j) of one window:

* 2D tracks: head-1 points of the query pixels, projected into frame j, against the
  pseudo-label tracks, where the pseudo-labels say the point is visible;
* depth: head-2 depth in frame j's camera against the pseudo-label depth, scale-invariant
  (the monocular scale is free, as in the official loss);
* head consistency: the head-1 point of a track must equal the head-2 point at the pixel where
  the track lands in frame j (at the anchor frame, both heads see the same pixels).

The 3D consistency residuals are weighted by the heads' confidences in DUSt3R's form
``c * loss - alpha * log(c)``. Pseudo-labels are plain tensors, so any tracker/depth source
(e.g. the geometric backend) plugs in. Intrinsics and frame poses are detached estimates.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from s4_core.st4rtrack.geometry import (
    frame_poses_from_reconstruction,
    intrinsics_from_pointmap,
    project_points,
    transform_points,
)
from s4_core.st4rtrack.model import PairPrediction, St4RTrackNet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PseudoLabels:
    """Supervision for one window, in network-input pixels.

    Attributes:
        tracks_uv: 2D tracks [T, N, 2]; ``tracks_uv[0]`` are the query pixels in the anchor.
        visible: pseudo-label visibility (False where occluded or unknown) [T, N].
        depth_m: z-depth per frame [T, H, W] (NaN or <= 0 where unknown), or None.
    """

    tracks_uv: Tensor
    visible: Tensor
    depth_m: Tensor | None = None

    def __post_init__(self) -> None:
        if self.tracks_uv.ndim != 3 or self.tracks_uv.shape[-1] != 2:
            raise ValueError(f"tracks_uv must be [T, N, 2], got {tuple(self.tracks_uv.shape)}")
        if self.visible.shape != self.tracks_uv.shape[:2]:
            raise ValueError(f"visible must be [T, N] = {tuple(self.tracks_uv.shape[:2])}, got {tuple(self.visible.shape)}")
        if self.depth_m is not None and (self.depth_m.ndim != 3 or self.depth_m.shape[0] != self.tracks_uv.shape[0]):
            raise ValueError(f"depth_m must be [T, H, W], got {tuple(self.depth_m.shape)}")


@dataclass(frozen=True)
class TTAWindow:
    """Network inputs of one window (see ``preprocess.images_to_input``).

    Attributes:
        anchor: anchor image in [-1, 1] [1, 3, H, W].
        frames: window frames in [-1, 1] [T, 3, H, W]; frames[0] is the anchor itself.
        K: intrinsics of the network input [3, 3], or None to estimate the focal every step.
        static_camera: True to assume identity frame poses instead of solving PnP on head 2.
    """

    anchor: Tensor
    frames: Tensor
    K: Tensor | None = None
    static_camera: bool = False


@dataclass(frozen=True)
class TTAConfig:
    """Loss weights (official TTA defaults) and what is optimized.

    Attributes:
        track_weight: weight of the 2D track RMSE in pixels (official ``traj_weight`` 0.5).
        depth_weight: weight of the scale-invariant depth loss (official 10).
        consistency_weight: weight of the head-1/head-2 consistency (official ``align3d`` 5).
        conf_alpha: the ``alpha`` of the confidence-weighted loss (official 0.2).
        trainable: fnmatch patterns of parameter names to adapt (the rest stays frozen).
    """

    track_weight: float = 0.5
    depth_weight: float = 10.0
    consistency_weight: float = 5.0
    conf_alpha: float = 0.2
    trainable: tuple[str, ...] = ("downstream_head1.*", "downstream_head2.*", "dec_norm.*", "dec_blocks*.norm*")


@dataclass(frozen=True)
class TTALoss:
    """One evaluation of the TTA objective (tensors keep the graph; see :meth:`as_floats`).

    Attributes:
        total: weighted sum being minimized.
        track_2d_px: RMS 2D reprojection error against the pseudo tracks, input pixels.
        depth: scale-invariant depth MSE.
        consistency: confidence-weighted head-1/head-2 3D disagreement.
    """

    total: Tensor
    track_2d_px: Tensor
    depth: Tensor
    consistency: Tensor

    def as_floats(self) -> dict[str, float]:
        return {name: float(getattr(self, name).detach()) for name in ("total", "track_2d_px", "depth", "consistency")}


def tta_loss(prediction: PairPrediction, labels: PseudoLabels, window: TTAWindow, config: TTAConfig) -> TTALoss:
    """The TTA objective for one forward pass of the window's pairs."""
    K = _window_intrinsics(prediction, window)
    poses = _frame_poses(prediction, K, window.static_camera)  # [T, 4, 4] camera_j_from_anchor
    queries = labels.tracks_uv[0]
    track_pts = sample_pixels(prediction.pts_track, queries.expand_as(labels.tracks_uv))  # [T, N, 3]
    track_conf = sample_pixels(prediction.conf_track[..., None], queries.expand_as(labels.tracks_uv))[..., 0]
    uv_pred, z_pred = project_points(transform_points(track_pts, poses), K)
    height, width = prediction.pts_track.shape[1:3]
    inside = _inside(labels.tracks_uv, width, height)
    mask = labels.visible & inside & (z_pred.detach() > 0)
    track_rms = _masked_mean((uv_pred - labels.tracks_uv).square().sum(-1), mask).sqrt()

    recon_pts = sample_pixels(prediction.pts_recon, labels.tracks_uv)  # [T, N, 3] head 2 where tracks land
    recon_conf = sample_pixels(prediction.conf_recon[..., None], labels.tracks_uv)[..., 0]
    scale = prediction.pts_track[0, ..., 2].detach().abs().median().clamp(min=1e-6)
    gap = (track_pts - recon_pts).norm(dim=-1) / scale
    conf = (track_conf * recon_conf).sqrt()
    consistency = _masked_mean(conf * gap - config.conf_alpha * conf.log(), labels.visible & inside)

    depth = _depth_loss(prediction, poses, labels.depth_m)
    total = (
        config.track_weight * track_rms
        + config.depth_weight * depth
        + config.consistency_weight * consistency
    )
    return TTALoss(total=total, track_2d_px=track_rms, depth=depth, consistency=consistency)


def adapt(
    model: St4RTrackNet,
    window: TTAWindow,
    labels: PseudoLabels,
    steps: int = 10,
    lr: float = 5e-5,
    config: TTAConfig = TTAConfig(),
) -> list[dict[str, float]]:
    """Fine-tune the ``config.trainable`` parameters on one window with Adam.

    Args:
        model: the network, updated in place (it is left in eval mode).
        window: the window's network inputs.
        labels: pseudo-labels for the window (T must match ``window.frames``).
        steps: optimizer steps.
        lr: Adam learning rate (official TTA uses 5e-5).
        config: loss weights and trainable subset.

    Returns:
        The loss terms before each step, then after the last one (``steps + 1`` entries).
    """
    if labels.tracks_uv.shape[0] != window.frames.shape[0]:
        raise ValueError(f"labels cover {labels.tracks_uv.shape[0]} frames, window has {window.frames.shape[0]}")
    parameters = select_parameters(model, config.trainable)
    trainable_ids = {id(p) for p in parameters}
    previous_flags = {name: p.requires_grad for name, p in model.named_parameters()}
    for p in model.parameters():
        p.requires_grad_(id(p) in trainable_ids)
    optimizer = torch.optim.Adam(parameters, lr=lr)
    history = []
    model.eval()  # no dropout/batch-norm here: eval keeps inference behaviour exact
    try:
        for _ in range(steps):
            loss = tta_loss(model(window.anchor, window.frames), labels, window, config)
            history.append(loss.as_floats())
            optimizer.zero_grad(set_to_none=True)
            loss.total.backward()
            optimizer.step()
        with torch.no_grad():
            history.append(tta_loss(model(window.anchor, window.frames), labels, window, config).as_floats())
    finally:
        for name, p in model.named_parameters():
            p.requires_grad_(previous_flags[name])
    log.info("TTA %d steps: loss %.4g -> %.4g", steps, history[0]["total"], history[-1]["total"])
    return history


def select_parameters(model: torch.nn.Module, patterns: tuple[str, ...]) -> list[torch.nn.Parameter]:
    """Parameters whose names match any fnmatch pattern (each shared parameter once).

    Raises:
        ValueError: when nothing matches (a typo would otherwise adapt nothing).
    """
    selected = [p for name, p in model.named_parameters() if any(fnmatch.fnmatchcase(name, pat) for pat in patterns)]
    if not selected:
        raise ValueError(f"no parameter matches {patterns}")
    return selected


def sample_pixels(maps: Tensor, uv: Tensor) -> Tensor:
    """Bilinear samples of per-frame maps [T, H, W, C] at pixels [T, N, 2] -> [T, N, C]."""
    height, width = maps.shape[1:3]
    grid = torch.stack(((uv[..., 0] + 0.5) / width * 2 - 1, (uv[..., 1] + 0.5) / height * 2 - 1), dim=-1)
    sampled = F.grid_sample(
        maps.permute(0, 3, 1, 2), grid[:, None].to(maps.dtype), mode="bilinear", padding_mode="border", align_corners=False
    )
    return sampled[:, :, 0].permute(0, 2, 1)


def scale_invariant_depth_mse(pred: Tensor, target: Tensor) -> Tensor:
    """MSE after the least-squares scale ``a = <pred, target> / <pred, pred>`` (official eq. 9)."""
    alpha = (pred * target).sum() / (pred.square().sum() + 1e-8)
    return (alpha * pred - target).square().mean()


def _depth_loss(prediction: PairPrediction, poses: Tensor, depth_m: Tensor | None) -> Tensor:
    zero = prediction.pts_recon.new_zeros(())
    if depth_m is None:
        return zero
    frames = prediction.pts_recon.shape[0]
    z = transform_points(prediction.pts_recon.reshape(frames, -1, 3), poses)[..., 2].reshape(depth_m.shape)
    valid = torch.isfinite(depth_m) & (depth_m > 0)
    terms = [scale_invariant_depth_mse(z[t][valid[t]], depth_m[t][valid[t]].to(z)) for t in range(frames) if valid[t].any()]
    return torch.stack(terms).mean() if terms else zero


def _window_intrinsics(prediction: PairPrediction, window: TTAWindow) -> Tensor:
    K = window.K if window.K is not None else intrinsics_from_pointmap(prediction.pts_track[0])
    return K.to(prediction.pts_track)


def _frame_poses(prediction: PairPrediction, K: Tensor, static_camera: bool) -> Tensor:
    if static_camera:
        return torch.eye(4).repeat(prediction.pts_recon.shape[0], 1, 1).to(prediction.pts_track)
    return frame_poses_from_reconstruction(prediction.pts_recon, prediction.conf_recon, K).to(prediction.pts_track)


def _inside(uv: Tensor, width: int, height: int) -> Tensor:
    return (uv[..., 0] >= 0) & (uv[..., 0] <= width - 1) & (uv[..., 1] >= 0) & (uv[..., 1] <= height - 1)


def _masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)
