"""Supervised St4RTrack training: ground-truth pointmaps, the loss, a tiny run, resume, the CLI."""

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from s4_core.cli.main import main as cli_main
from s4_core.st4rtrack import load_st4rtrack
from s4_core.st4rtrack.checkpoint import save_safetensors
from s4_core.st4rtrack.model import PairPrediction
from s4_core.st4rtrack.training import (
    MODEL_PRESETS,
    Augmentation,
    SceneSampling,
    TrainConfig,
    Trainer,
    clip_targets,
    make_batch,
    pointmap_loss,
)
from s4_core.st4rtrack.training.data import Crop
from s4_core.st4rtrack.training.targets import pixel_grid
from s4_core.synth import SynthConfig, SyntheticWorld

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def clip_and_world():
    world = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=2.0, seed=1234, size_wh=(64, 48), noise_std=0.0))
    return clip_targets(world, 1, world.t0_s + np.array([0.5, 0.6, 0.8])), world


def test_heads_agree_at_the_anchor_and_reproject_onto_their_pixels(clip_and_world):
    clip, world = clip_and_world
    valid = clip.valid_track[0] & clip.valid_recon[0]
    assert valid.all()  # the room encloses the scene: every pixel sees a surface
    np.testing.assert_allclose(clip.pts_track[0][valid], clip.pts_recon[0][valid], atol=1e-5)
    K = world.cameras[1].K
    for points in (clip.pts_track[0], clip.pts_recon[2]):
        uv = points[..., :2] / points[..., 2:] @ K[:2, :2].T + K[:2, 2]
        np.testing.assert_allclose(uv, pixel_grid(64, 48), atol=1e-3)


def test_tracking_targets_follow_the_material_points(clip_and_world):
    clip, world = clip_and_world
    camera = world.cameras[1]
    pixels = np.array([[10.0, 40.0], [32.0, 24.0], [50.0, 8.0]])
    truth = world.gt_tracks(1, float(clip.times_s[0]), pixels, clip.times_s)
    columns, rows = pixels[:, 0].astype(int), pixels[:, 1].astype(int)
    for t in range(clip.num_frames):
        expected = camera.world_to_camera(truth.xyz[t])
        np.testing.assert_allclose(clip.pts_track[t, rows, columns], expected, atol=1e-4)
    moved = np.linalg.norm(clip.pts_track[2] - clip.pts_track[0], axis=-1)
    assert 0.02 < (moved > 1e-4).mean() < 0.9  # some bodies move, the room does not


def _prediction_from(gt_track, gt_recon, conf):
    confidence = torch.full(gt_track.shape[:3], conf)
    return PairPrediction(gt_track, confidence, gt_recon, confidence.clone(), torch.zeros(1, 1, 1))


def test_loss_is_scale_free_and_has_the_dust3r_confidence_form():
    torch.manual_seed(0)
    gt_track, gt_recon = torch.rand(2, 4, 5, 3) + 1, torch.rand(2, 4, 5, 3) + 1
    valid = torch.ones(2, 4, 5, dtype=torch.bool)
    perfect = pointmap_loss(_prediction_from(3 * gt_track, 3 * gt_recon, 2.0), gt_track, valid, gt_recon, valid, alpha=0.2)
    assert float(perfect.regr_track) == pytest.approx(0.0, abs=1e-6)
    assert float(perfect.total) == pytest.approx(2 * -0.2 * np.log(2.0), abs=1e-6)
    shifted = gt_recon.clone()
    shifted[..., 0] += 0.5  # a known error on head 2 only
    loss = pointmap_loss(_prediction_from(gt_track, shifted, 1.0), gt_track, valid, gt_recon, valid, alpha=0.2)
    assert float(loss.regr_recon) > 0.05 and float(loss.conf_recon) == pytest.approx(float(loss.regr_recon), rel=1e-5)


def test_training_seeds_avoid_the_evaluation_seeds():
    with pytest.raises(ValueError, match="evaluation"):
        SceneSampling(seed_min=50)


def _tiny_config(tmp_path, steps):
    return TrainConfig(
        model=MODEL_PRESETS["tiny"],
        steps=steps,
        batch_pairs=4,
        lr=1e-3,
        warmup_steps=2,
        scenes=dataclasses.replace(SceneSampling(), render_size_wh=(72, 54), clip_frames=3),
        pool_clips=3,
        pool_steps=4,
        out_dir=tmp_path,
        checkpoint_every=1000,
        log_every=5,
    )


def test_a_tiny_run_lowers_the_loss_on_a_fixed_batch(tmp_path):
    trainer = Trainer(_tiny_config(tmp_path, steps=25))
    fixed = trainer.batch(0)
    before = trainer.evaluate(fixed).total.item()
    assert trainer.run()
    after = trainer.evaluate(fixed).total.item()
    assert after < 0.6 * before
    log_lines = (tmp_path / "train_log.jsonl").read_text().splitlines()
    assert len(log_lines) == 5 and '"step": 25' in log_lines[-1]


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    straight = Trainer(_tiny_config(tmp_path / "a", steps=6))
    straight.run()
    interrupted = Trainer(_tiny_config(tmp_path / "b", steps=6))
    for _ in range(4):  # crosses a pool boundary, so the resumed run must re-render the pool
        interrupted.train_step()
    interrupted.save_checkpoint()
    resumed = Trainer(_tiny_config(tmp_path / "b", steps=6), resume=True)
    assert resumed.step == 4
    resumed.run()
    for name, tensor in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], tensor, rtol=0, atol=0, msg=name)


def test_cli_trains_exports_loadable_weights_and_rejects_bad_input(tmp_path):
    base = tmp_path / "weights" / "tiny"
    argv = ["train-st4rtrack", "--model", "tiny", "--steps", "2", "--batch", "2", "--pool-clips", "2"]
    assert cli_main([*argv, "--out-dir", str(tmp_path / "run"), "--export", str(base)]) == 0
    model = load_st4rtrack(base.with_suffix(".safetensors"))
    assert model.config == MODEL_PRESETS["tiny"]
    assert load_st4rtrack(base.with_suffix(".pth")).config == MODEL_PRESETS["tiny"]
    assert '"steps": 2' in base.with_suffix(".json").read_text()
    assert cli_main(["train-st4rtrack", "--model", "huge", "--out-dir", str(tmp_path / "x")]) == 2


def test_motion_term_scores_twin_displacements():
    torch.manual_seed(0)
    anchor_points = torch.rand(1, 4, 5, 3) + 1
    moved = anchor_points.clone()
    moved[0, 0, 0, 0] += 0.3  # one point moves between the twins
    gt = torch.cat((anchor_points, moved))  # twin: (anchor, anchor), (anchor, j)
    valid = torch.ones(2, 4, 5, dtype=torch.bool)
    exact = pointmap_loss(_prediction_from(2 * gt, 2 * gt, 1.0), gt, valid, gt, valid, alpha=0.2, motion_weight=10.0)
    assert float(exact.motion) == pytest.approx(0.0, abs=1e-6)
    frozen = torch.cat((anchor_points, anchor_points))  # predicts no motion
    still = pointmap_loss(_prediction_from(frozen, gt, 1.0), gt, valid, gt, valid, alpha=0.2, motion_weight=10.0)
    assert float(still.motion) > 0 and float(still.total) > float(still.conf_track + still.conf_recon)
    # Balanced: the one moving point weighs as much as the 19 still ones (whose error is 0).
    scale = float(anchor_points.norm(dim=-1).mean())
    assert float(still.motion) == pytest.approx(0.5 * 0.3 / scale, rel=1e-4)


def test_batches_come_in_twins_sharing_the_anchor(clip_and_world):
    clip, _ = clip_and_world
    batch = make_batch([clip], 4, (32, 24), Augmentation(), np.random.default_rng(0))
    assert batch.anchor.shape == (4, 3, 24, 32) and batch.pts_track.shape == (4, 24, 32, 3)
    torch.testing.assert_close(batch.anchor[0], batch.anchor[1], rtol=0, atol=0)
    torch.testing.assert_close(batch.frames[0], batch.anchor[0], rtol=0, atol=0)  # pair 2k is (anchor, anchor)
    torch.testing.assert_close(batch.pts_track[0], batch.pts_recon[0], rtol=0, atol=1e-5)


def test_data_workers_give_the_batches_of_the_training_process(tmp_path):
    config = dataclasses.replace(_tiny_config(tmp_path, steps=6), data_workers=2)
    trainer = Trainer(config)
    trainer.step = 3  # resumed inside the first pool: its first three batches are skipped
    streamed = list(trainer.batches())
    assert len(streamed) == 3
    for step, batch in zip(range(3, 6), streamed):
        torch.testing.assert_close(batch.frames, trainer.batch(step).frames, rtol=0, atol=0)
        torch.testing.assert_close(batch.pts_track, trainer.batch(step).pts_track, rtol=0, atol=0)


def _find_crop(image: np.ndarray, target: np.ndarray, out_wh: tuple[int, int], min_scale: float) -> Crop:
    """The crop window of ``image`` whose resize is ``target`` (exhaustive search)."""
    height, width = image.shape[:2]
    fit = min(width / out_wh[0], height / out_wh[1])
    sizes = [(w, h) for w in range(int(out_wh[0] * fit * min_scale) - 1, width + 1) for h in range(height + 1)]
    for crop_w, crop_h in sizes:
        if abs(crop_h / crop_w - out_wh[1] / out_wh[0]) > 1.0 / crop_w:
            continue  # not the input's aspect ratio (up to rounding)
        for y0 in range(height - crop_h + 1):
            for x0 in range(width - crop_w + 1):
                crop = Crop(x0, y0, crop_w, crop_h, out_wh)
                if np.array_equal(crop.cut(image), target):
                    return crop
    raise AssertionError("no crop reproduces the target")


def test_a_frame_with_its_own_crop_keeps_its_targets_with_its_pixels(clip_and_world):
    clip, _ = clip_and_world
    plain = Augmentation(brightness=0.0, contrast=0.0, saturation=0.0, noise_std=0.0, frame_crop_prob=1.0)
    rng = np.random.default_rng(3)
    differing = 0
    for _ in range(3):
        batch = make_batch([clip], 2, (32, 24), plain, rng)
        anchor_crop = _find_crop(clip.pts_recon[0], batch.pts_recon[0].numpy(), (32, 24), plain.min_crop_scale)
        # The tracking target stays on the anchor's pixels: it is the anchor crop of some frame j.
        track = batch.pts_track[1].numpy()
        j = next(k for k in range(1, clip.num_frames) if np.allclose(anchor_crop.cut(clip.pts_track[k]), track))
        # The frame image is cut like its own reconstruction target.
        frame_crop = _find_crop(clip.pts_recon[j], batch.pts_recon[1].numpy(), (32, 24), plain.min_crop_scale)
        expected = frame_crop.cut(clip.rgb[j], cv2.INTER_AREA)
        np.testing.assert_allclose((batch.frames[1].numpy().transpose(1, 2, 0) + 1) * 127.5, expected, atol=1e-3)
        differing += frame_crop != anchor_crop
    assert differing >= 2


def test_init_weights_start_a_run_from_a_checkpoint(tmp_path):
    first = Trainer(_tiny_config(tmp_path / "a", steps=2))
    first.run()
    save_safetensors(first.model, tmp_path / "start.safetensors")
    second = Trainer(dataclasses.replace(_tiny_config(tmp_path / "b", steps=2), init_weights=tmp_path / "start.safetensors"))
    for name, tensor in first.model.state_dict().items():
        torch.testing.assert_close(second.model.state_dict()[name], tensor, rtol=0, atol=0, msg=name)
    other = dataclasses.replace(
        _tiny_config(tmp_path / "c", steps=2), model=MODEL_PRESETS["small"], init_weights=tmp_path / "start.safetensors"
    )
    with pytest.raises(ValueError, match="another architecture"):
        Trainer(other)
