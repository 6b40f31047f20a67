"""St4RTrack's supervised loss: DUSt3R's confidence-weighted 3D regression on both heads.

For a pair (anchor, frame j), prediction and ground truth are each divided by their own scale,
the mean distance of their valid points to the anchor camera over both heads (DUSt3R's
``avg_dis`` normalization), which makes the loss blind to the monocular scale. Per pixel the
regression error ``e = |x / s - x_gt / s_gt|`` is weighted by the predicted confidence ``c``
in DUSt3R's form ``c * e - alpha * log(c)``: the network may lower ``c`` where it cannot do
better, at the price of the log term.

Added to the paper's terms, a motion term: on synthetic rooms most points are static and the
depth error dwarfs the few centimetres objects move, so head 1 barely feels motion. With the
batch made of twins (pairs ``2k`` = (anchor, anchor) and ``2k + 1`` = (anchor, frame j), see
:func:`~s4_core.st4rtrack.training.data.make_batch`), the difference of the twins' head-1
outputs is the predicted displacement of each anchor point; its error against the true
displacement, both in the (anchor, anchor) pair's normalized units, is ``motion``. Moving and
still points are averaged apart and the two means weighted equally: averaged together, the
still majority made "no motion anywhere" a near-optimal answer. (Balanced, the term has not
made the shipped small model track either; see ``s4_core/st4rtrack/weights/README.md``.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from s4_core.st4rtrack.model import PairPrediction


@dataclass(frozen=True)
class PointmapLoss:
    """Loss terms of one batch (tensors keep the graph; see :meth:`as_floats`).

    Attributes:
        total: ``conf_track + conf_recon + motion_weight * motion``, what is minimized.
        conf_track: confidence-weighted head-1 (tracking) loss.
        conf_recon: confidence-weighted head-2 (reconstruction) loss.
        regr_track: plain normalized head-1 error (mean e), for monitoring.
        regr_recon: plain normalized head-2 error, for monitoring.
        motion: mean normalized error of the anchor points' displacements (zero when unused).
    """

    total: Tensor
    conf_track: Tensor
    conf_recon: Tensor
    regr_track: Tensor
    regr_recon: Tensor
    motion: Tensor

    def as_floats(self) -> dict[str, float]:
        return {name: float(getattr(self, name).detach()) for name in self.__dataclass_fields__}


def average_distance_scale(pts_a: Tensor, valid_a: Tensor, pts_b: Tensor, valid_b: Tensor) -> Tensor:
    """Per-pair mean norm of the valid points of two pointmaps [B, H, W, 3] -> [B, 1, 1, 1]."""
    norms = pts_a.norm(dim=-1) * valid_a + pts_b.norm(dim=-1) * valid_b
    count = (valid_a.sum((1, 2)) + valid_b.sum((1, 2))).clamp(min=1)
    return (norms.sum((1, 2)) / count).clamp(min=1e-8)[:, None, None, None]


def confidence_weighted(error: Tensor, conf: Tensor, valid: Tensor, alpha: float) -> Tensor:
    """Mean of ``conf * error - alpha * log(conf)`` over valid pixels (all pairs together)."""
    terms = conf * error - alpha * torch.log(conf)
    return terms[valid].mean() if valid.any() else terms.sum() * 0.0


def pointmap_loss(
    prediction: PairPrediction,
    gt_track: Tensor,
    valid_track: Tensor,
    gt_recon: Tensor,
    valid_recon: Tensor,
    alpha: float,
    motion_weight: float = 0.0,
    moving_threshold: float = 0.002,
) -> PointmapLoss:
    """The supervised loss of a batch.

    Args:
        prediction: network output for B pairs.
        gt_track: head-1 targets [B, H, W, 3], anchor camera frame.
        valid_track: [B, H, W] bool.
        gt_recon: head-2 targets [B, H, W, 3].
        valid_recon: [B, H, W] bool.
        alpha: confidence regularization weight (DUSt3R uses 0.2).
        motion_weight: weight of the motion term; > 0 needs a twin batch (B even).
        moving_threshold: true normalized displacement above which a point counts as moving.
    """
    expected = prediction.pts_track.shape
    for name, tensor in (("gt_track", gt_track), ("gt_recon", gt_recon)):
        if tensor.shape != expected:
            raise ValueError(f"{name} must be {tuple(expected)} like the prediction, got {tuple(tensor.shape)}")
    for name, mask in (("valid_track", valid_track), ("valid_recon", valid_recon)):
        if mask.shape != expected[:3]:
            raise ValueError(f"{name} must be {tuple(expected[:3])}, got {tuple(mask.shape)}")
    gt_scale = average_distance_scale(gt_track, valid_track, gt_recon, valid_recon)
    pred_scale = average_distance_scale(prediction.pts_track, valid_track, prediction.pts_recon, valid_recon)
    err_track = (prediction.pts_track / pred_scale - gt_track / gt_scale).norm(dim=-1)
    err_recon = (prediction.pts_recon / pred_scale - gt_recon / gt_scale).norm(dim=-1)
    conf_track = confidence_weighted(err_track, prediction.conf_track, valid_track, alpha)
    conf_recon = confidence_weighted(err_recon, prediction.conf_recon, valid_recon, alpha)
    motion = gt_track.new_zeros(())
    if motion_weight > 0:
        # Both twins in the (anchor, anchor) pair's units, so a displacement is not a scale change.
        twin_pred_scale, twin_gt_scale = pred_scale[0::2].repeat_interleave(2, 0), gt_scale[0::2].repeat_interleave(2, 0)
        motion = displacement_error(
            prediction.pts_track / twin_pred_scale, gt_track / twin_gt_scale, valid_track, moving_threshold
        )
    return PointmapLoss(
        total=conf_track + conf_recon + motion_weight * motion,
        conf_track=conf_track,
        conf_recon=conf_recon,
        regr_track=err_track[valid_track].mean().detach(),
        regr_recon=err_recon[valid_recon].mean().detach(),
        motion=motion,
    )


def displacement_error(pred_track: Tensor, gt_track: Tensor, valid_track: Tensor, moving_threshold: float) -> Tensor:
    """|predicted - true displacement| of anchor points between twin pairs, balanced: the mean
    over moving points and the mean over still points, averaged (either alone when the other is
    absent).

    Args:
        pred_track: normalized head-1 outputs [B, H, W, 3], twins (anchor, anchor), (anchor, j).
        gt_track: normalized head-1 targets, same layout.
        valid_track: [B, H, W] bool.
        moving_threshold: true displacement (normalized units) above which a point is moving.
    """
    if pred_track.shape[0] % 2:
        raise ValueError(f"the motion term needs twin pairs (an even batch), got {pred_track.shape[0]}")
    pred_motion = pred_track[1::2] - pred_track[0::2]
    gt_motion = gt_track[1::2] - gt_track[0::2]
    valid = valid_track[1::2] & valid_track[0::2]
    error = (pred_motion - gt_motion).norm(dim=-1)
    moving = gt_motion.norm(dim=-1) > moving_threshold
    means = [error[part].mean() for part in (valid & moving, valid & ~moving) if part.any()]
    return torch.stack(means).mean() if means else error.sum() * 0.0
