"""Test-time adaptation: the loss terms on known geometry, and adaptation lowering them."""

import numpy as np
import pytest
import torch

from s4_core.st4rtrack import (
    PairPrediction,
    PseudoLabels,
    St4RTrackConfig,
    St4RTrackNet,
    TTAConfig,
    TTAWindow,
    adapt,
    images_to_input,
    plan_input_crop,
    tta_loss,
)
from s4_core.st4rtrack.geometry import intrinsics_matrix
from s4_core.st4rtrack.track_features import anchor_query_grid

torch.set_num_threads(1)  # tiny tensors: a second thread only adds synchronization

WIDTH, HEIGHT, FOCAL, DEPTH, SHIFT_PX, FRAMES = 64, 48, 50.0, 2.0, 4.0, 3
K = intrinsics_matrix(FOCAL, ((WIDTH - 1) / 2, (HEIGHT - 1) / 2)).float()


def _labels() -> PseudoLabels:
    """A plane at 2 m sliding right by 4 px per frame, seen by a static camera."""
    queries = anchor_query_grid((WIDTH, HEIGHT), 16).float()
    tracks = torch.stack([queries + torch.tensor([SHIFT_PX * t, 0.0]) for t in range(FRAMES)])
    return PseudoLabels(tracks_uv=tracks, visible=torch.ones(tracks.shape[:2], dtype=torch.bool), depth_m=torch.full((FRAMES, HEIGHT, WIDTH), DEPTH))


def _perfect_prediction(conf: float = 2.0) -> PairPrediction:
    vs, us = torch.meshgrid(torch.arange(HEIGHT, dtype=torch.float32), torch.arange(WIDTH, dtype=torch.float32), indexing="ij")
    plane = torch.stack(((us - K[0, 2]) / FOCAL * DEPTH, (vs - K[1, 2]) / FOCAL * DEPTH, torch.full_like(us, DEPTH)), dim=-1)
    step = torch.tensor([SHIFT_PX * DEPTH / FOCAL, 0.0, 0.0])
    return PairPrediction(
        pts_track=torch.stack([plane + t * step for t in range(FRAMES)]),
        conf_track=torch.full((FRAMES, HEIGHT, WIDTH), conf),
        pts_recon=plane.expand(FRAMES, -1, -1, -1).clone(),
        conf_recon=torch.full((FRAMES, HEIGHT, WIDTH), conf),
        anchor_tokens=torch.zeros(HEIGHT // 16, WIDTH // 16, 4),
    )


def _window(anchor=None, frames=None) -> TTAWindow:
    empty = torch.zeros(1, 3, HEIGHT, WIDTH)
    return TTAWindow(anchor=empty if anchor is None else anchor, frames=empty if frames is None else frames, K=K, static_camera=True)


def test_perfect_prediction_has_zero_geometric_error():
    config = TTAConfig()
    loss = tta_loss(_perfect_prediction(conf=2.0), _labels(), _window(), config)
    assert float(loss.track_2d_px) == pytest.approx(0.0, abs=1e-3)
    assert float(loss.depth) == pytest.approx(0.0, abs=1e-8)
    # No 3D gap left: only the confidence regularizer -alpha * log(c) remains.
    assert float(loss.consistency) == pytest.approx(-config.conf_alpha * np.log(2.0), abs=1e-5)


def test_loss_terms_measure_known_errors():
    prediction = _perfect_prediction()
    shifted = prediction.pts_track + torch.tensor([2.0 * DEPTH / FOCAL, 0.0, 0.0])  # 2 px to the right
    scaled_recon = prediction.pts_recon * 3.0  # another monocular scale: depth loss is scale-free
    wrong = PairPrediction(shifted, prediction.conf_track, scaled_recon, prediction.conf_recon, prediction.anchor_tokens)
    loss = tta_loss(wrong, _labels(), _window(), TTAConfig())
    assert float(loss.track_2d_px) == pytest.approx(2.0, abs=1e-3)
    assert float(loss.depth) == pytest.approx(0.0, abs=1e-6)


def test_pseudo_labels_check_shapes():
    with pytest.raises(ValueError, match="visible"):
        PseudoLabels(tracks_uv=torch.zeros(3, 5, 2), visible=torch.ones(3, 4, dtype=torch.bool))


def test_adaptation_lowers_the_loss_and_the_2d_track_error():
    torch.manual_seed(0)
    model = St4RTrackNet(St4RTrackConfig.small(input_size_wh=(WIDTH, HEIGHT)))
    with torch.no_grad():  # start in front of the camera, as a pretrained model would
        for head in (model.downstream_head1, model.downstream_head2):
            head.dpt.head[4].bias.copy_(torch.tensor([0.0, 0.0, 1.1, 0.0]))
    frozen_before = model.enc_blocks[0].attn.qkv.weight.detach().clone()
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (HEIGHT, WIDTH + 16, 3), dtype=np.uint8)
    images = np.stack([texture[:, 16 - 4 * t : 16 - 4 * t + WIDTH] for t in range(FRAMES)])  # content slides right
    crop = plan_input_crop((WIDTH, HEIGHT), (WIDTH, HEIGHT))
    frames = images_to_input(images, crop)
    window = _window(anchor=frames[:1], frames=frames)

    history = adapt(model, window, _labels(), steps=8, lr=1e-3)

    totals = [h["total"] for h in history]
    assert len(history) == 9
    assert totals[-1] < 0.9 * totals[0]
    assert sum(b > a for a, b in zip(totals, totals[1:])) <= 3  # monotone-ish (Adam's first steps)
    assert history[-1]["track_2d_px"] < 0.8 * history[0]["track_2d_px"]
    assert torch.equal(model.enc_blocks[0].attn.qkv.weight, frozen_before)  # encoder not adapted
    assert all(p.requires_grad for p in model.parameters())  # flags restored
