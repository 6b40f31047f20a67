"""St4RTrackTracker on a scripted pointmap source with a known answer, and on the real network."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from s4_core.frames import Frame
from s4_core.st4rtrack import (
    St4RTrackConfig,
    St4RTrackNet,
    St4RTrackPredictor,
    St4RTrackTracker,
    TrackerConfig,
    WindowPointmaps,
    plan_input_crop,
)

torch.set_num_threads(2)

INPUT_WH = (128, 96)
ORIGINAL_WH = (256, 192)  # network pixels are half-size: 1 input px = 2 original px
FOCAL_INPUT = 100.0
PLANE_Z = 2.0
SHIFT_INPUT_PX = 4.0  # per frame, so that 4 frames move one 16 px grid cell
STEP_M = SHIFT_INPUT_PX * PLANE_Z / FOCAL_INPUT  # 0.08 m per frame along x
FRAME_NS = 33_000_000


def _plane_points(scale: float) -> torch.Tensor:
    width, height = INPUT_WH
    vs, us = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij")
    x = (us - (width - 1) / 2) / FOCAL_INPUT * PLANE_Z
    y = (vs - (height - 1) / 2) / FOCAL_INPUT * PLANE_Z
    return torch.stack((x, y, torch.full_like(x, PLANE_Z)), dim=-1) * scale


class SlidingPlanePredictor:
    """A static camera looking at a textured plane at 2 m sliding +x; frames encode their index.

    Each anchor has its own monocular scale (1 + 0.5 * anchor index) like a real network, the
    bottom third of the image loses head-1 confidence from 2 frames after the anchor on, and
    encoder tokens are (patch row, patch column, 1, 0).
    """

    def predict(self, anchor_rgb, frames_rgb):
        anchor_t = int(anchor_rgb[0, 0, 0])
        scale = 1.0 + 0.5 * anchor_t
        times = [int(frame[0, 0, 0]) - anchor_t for frame in frames_rgb]
        step = torch.tensor([STEP_M, 0.0, 0.0]) * scale
        plane = _plane_points(scale)
        conf_track = torch.full((len(times), INPUT_WH[1], INPUT_WH[0]), 3.0)
        for j, dt in enumerate(times):
            if dt >= 2:
                conf_track[j, 64:] = 1.2
        rows, cols = torch.meshgrid(torch.arange(6.0), torch.arange(8.0), indexing="ij")
        tokens = torch.stack((rows, cols, torch.ones_like(rows), torch.zeros_like(rows)), dim=-1)
        return WindowPointmaps(
            pts_track=torch.stack([plane + dt * step for dt in times]),
            conf_track=conf_track,
            pts_recon=plane.expand(len(times), -1, -1, -1).clone(),
            conf_recon=torch.full((len(times), INPUT_WH[1], INPUT_WH[0]), 3.0),
            anchor_tokens=tokens,
            crop=plan_input_crop(ORIGINAL_WH, INPUT_WH),
        )


def _frames(indices, camera="cam0"):
    frames = []
    for t in indices:
        rgb = np.zeros((ORIGINAL_WH[1], ORIGINAL_WH[0], 3), np.uint8)
        rgb[..., 0] = t
        frames.append(Frame(camera, 1_000 + t * FRAME_NS, rgb))
    return frames


@pytest.fixture
def tracker():
    return St4RTrackTracker(SlidingPlanePredictor(), TrackerConfig(grid_stride_px=16, keyframe_interval=4))


def _track_of(tracks, t, uv_original):
    """Column of the track at a given original pixel at frame t."""
    distance = np.linalg.norm(tracks.uv[t] - np.asarray(uv_original), axis=-1)
    return int(np.nanargmin(distance))


def test_single_anchor_tracks_follow_the_plane(tracker):
    tracks = tracker.track_window(_frames(range(5)))
    assert tracks.num_tracks == 48 and tracks.world_frame == "cam0_anchor"
    # Queries sit at input (8 + 16c, 8 + 16r) = original (16.5 + 32c, 16.5 + 32r).
    np.testing.assert_allclose(tracks.uv[0, :8, 0], 16.5 + 32 * np.arange(8), atol=1e-4)
    # 4 input px = 8 original px per frame, with the focal estimated from the anchor pointmap.
    np.testing.assert_allclose(tracks.uv[4] - tracks.uv[0], np.tile([32.0, 0.0], (48, 1)), atol=1e-3)
    np.testing.assert_allclose(tracks.xyz[3] - tracks.xyz[0], np.tile([3 * STEP_M, 0, 0], (48, 1)), atol=1e-5)
    bottom = tracks.uv[0, :, 1] > 128
    assert tracks.visible[:2].all()
    assert not tracks.visible[2:, bottom].any()  # low confidence
    assert not tracks.visible[4, 7]  # the top-right query left the image at frame 4
    np.testing.assert_allclose(tracks.confidence[0], 1 - 1 / 3.0, atol=1e-6)


def test_descriptors_pool_anchor_tokens_and_scale_free_motion(tracker):
    tracks = tracker.track_window(_frames(range(5)))
    assert tracks.descriptors.shape == (48, 4 + 3)
    # Bilinear pooling at pixel 8 reads 1/32 of the next patch (patch centres are at 7.5 + 16k).
    expected_row0 = F.normalize(torch.tensor([[0.03125, c + 0.03125, 1.0, 0.0] for c in range(7)]), dim=-1).numpy()
    np.testing.assert_allclose(tracks.descriptors[:7, :4], expected_row0, atol=1e-5)
    path_3d, net_3d, path_2d = 4 * STEP_M / PLANE_Z, 4 * STEP_M / PLANE_Z, 32.0 / np.hypot(*ORIGINAL_WH)
    np.testing.assert_allclose(tracks.descriptors[:, 4:], np.tile([path_3d, net_3d, path_2d], (48, 1)), atol=1e-5)


def test_reanchoring_stitches_ids_and_chains_coordinates(tracker):
    tracks = tracker.track_window(_frames(range(9)))  # anchors at 0 and 4
    # Anchor 4 re-seeds 48 queries: rows 0-3, columns 1-7 continue old tracks (they moved one
    # cell right); column 0 and the low-confidence rows 4-5 start new tracks: 48 + 4 + 16.
    assert tracks.num_tracks == 68
    first = _track_of(tracks, 0, (16.5, 16.5))
    assert tracks.visible[:, first].all()
    np.testing.assert_allclose(tracks.uv[8, first], [16.5 + 8 * 8, 16.5], atol=1e-3)
    # Anchor 4 has 3x the scale of anchor 0; chaining brings it back into anchor 0's frame.
    np.testing.assert_allclose(tracks.xyz[8, first] - tracks.xyz[0, first], [8 * STEP_M, 0, 0], atol=1e-4)
    newcomer = _track_of(tracks, 4, (16.5, 16.5))
    assert np.isnan(tracks.uv[:4, newcomer]).all() and not tracks.visible[:4, newcomer].any()


def test_next_window_continues_track_ids(tracker):
    first = tracker.track_window(_frames(range(5)))
    second = tracker.track_window(_frames(range(4, 9)))
    column = _track_of(first, 4, (16.5 + 32, 16.5))
    assert first.track_ids[column] in second.track_ids
    assert second.track_ids.max() == first.track_ids.max() + 4 + 16


def test_window_validation(tracker):
    with pytest.raises(ValueError, match="one camera"):
        tracker.track_window(_frames([0]) + _frames([1], camera="cam1"))
    with pytest.raises(ValueError, match="increasing"):
        tracker.track_window(_frames([1, 0]))


def test_real_network_produces_a_valid_trackset():
    torch.manual_seed(0)
    predictor = St4RTrackPredictor(St4RTrackNet(St4RTrackConfig.small()), device="cpu", pairs_per_batch=2)
    rng = np.random.default_rng(0)
    frames = [Frame("cam2", 10 + i, rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)) for i in range(3)]
    tracks = St4RTrackTracker(predictor, TrackerConfig(grid_stride_px=32)).track_window(frames)
    crop = plan_input_crop((200, 150), (128, 96))
    grid = np.stack(np.meshgrid(np.arange(16, 128, 32), np.arange(16, 96, 32)), axis=-1).reshape(-1, 2)
    np.testing.assert_allclose(tracks.uv[0], crop.to_original(grid), atol=1e-4)
    assert tracks.xyz.shape == (3, 12, 3) and tracks.descriptors.shape == (12, 64 + 3)
    assert ((tracks.confidence >= 0) & (tracks.confidence <= 1)).all()
    assert tracks.stamps_ns.tolist() == [10, 11, 12]
