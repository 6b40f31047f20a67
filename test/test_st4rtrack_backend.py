"""St4RTrackBackend: the TrackerBackend contract on a scripted pointmap source with a known
answer, the streaming tracker on top of it, and TTA against geometric pseudo-labels."""

import numpy as np
import pytest
import torch

from s4_core.camera import PinholeCamera
from s4_core.frames import Frame
from s4_core.st4rtrack import St4RTrackConfig, St4RTrackNet, St4RTrackPredictor, WindowPointmaps, plan_input_crop
from s4_core.st4rtrack.backend import BackendConfig, St4RTrackBackend
from s4_core.st4rtrack.pseudo_labels import adapt_with_geometric_labels, geometric_pseudo_labels
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.tracking import StreamingConfig, StreamingTracker, TrackerBackend
from s4_core.tracking.metrics import pixel_error_px

torch.set_num_threads(1)

INPUT_WH = (128, 96)
ORIGINAL_WH = (256, 192)  # 1 network pixel = 2 original pixels
FOCAL_INPUT = 100.0
PLANE_Z = 2.0
SHIFT_INPUT_PX = 4.0  # the plane slides 4 input px (8 original px) per frame
STEP_M = SHIFT_INPUT_PX * PLANE_Z / FOCAL_INPUT
FRAME_NS = 33_000_000
CAMERA = PinholeCamera(
    "cam0", *ORIGINAL_WH, np.array([[2 * FOCAL_INPUT, 0, 127.5], [0, 2 * FOCAL_INPUT, 95.5], [0, 0, 1.0]]),
    world_from_camera=np.array([[1.0, 0, 0, 10.0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]),
)


class SlidingPlanePredictor:
    """A static camera before a plane at 2 m sliding +x; each frame's index is its pixel (0, 0, 0).

    The network scale is 3x metric (monocular: any scale); the bottom 32 input rows lose head-1
    confidence from 2 frames after the anchor on. Counts the pairs it was asked for.
    """

    SCALE = 3.0

    def __init__(self):
        self.pairs = 0

    def predict(self, anchor_rgb, frames_rgb):
        self.pairs += len(frames_rgb)
        width, height = INPUT_WH
        vs, us = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij")
        x, y = (us - 63.5) / FOCAL_INPUT * PLANE_Z, (vs - 47.5) / FOCAL_INPUT * PLANE_Z
        plane = torch.stack((x, y, torch.full_like(us, PLANE_Z)), dim=-1)
        times = [int(frame[0, 0, 0]) - int(anchor_rgb[0, 0, 0]) for frame in frames_rgb]
        conf = torch.full((len(times), height, width), 3.0)
        for j, dt in enumerate(times):
            if dt >= 2:
                conf[j, 64:] = 1.2
        track = torch.stack([plane + dt * torch.tensor([STEP_M, 0.0, 0.0]) for dt in times]) * self.SCALE
        return WindowPointmaps(
            pts_track=track,
            conf_track=conf,
            pts_recon=(plane * self.SCALE).expand(len(times), -1, -1, -1).clone(),
            conf_recon=torch.full((len(times), height, width), 3.0),
            anchor_tokens=torch.zeros(6, 8, 4),
            crop=plan_input_crop(ORIGINAL_WH, INPUT_WH),
        )


def _frames(indices, depth=False, model=CAMERA):
    frames = []
    for t in indices:
        rgb = np.random.default_rng(t).integers(0, 256, (ORIGINAL_WH[1], ORIGINAL_WH[0], 3), dtype=np.uint8)
        rgb[0, 0, 0] = t
        depth_m = np.full(rgb.shape[:2], PLANE_Z, np.float32) if depth else None
        frames.append(Frame("cam0", 1_000 + t * FRAME_NS, rgb, depth_m, model))
    return frames


QUERIES = np.array([[40.0, 30.0], [100.25, 60.5], [17.0, 150.0], [200.0, 170.0]])


def test_is_a_tracker_backend_and_tracks_the_plane():
    backend = St4RTrackBackend(SlidingPlanePredictor())
    assert isinstance(backend, TrackerBackend)
    tracks = backend.track_window(_frames(range(4)), QUERIES)
    np.testing.assert_array_equal(tracks.uv[0], QUERIES.astype(np.float32))
    np.testing.assert_array_equal(tracks.track_ids, np.arange(4))
    # 8 original px per frame to the right with the calibrated K; the bottom rows lose confidence.
    expected = QUERIES[None] + np.array([8.0, 0.0]) * np.arange(4)[:, None, None]
    top = QUERIES[:, 1] < 128
    np.testing.assert_allclose(tracks.uv[:, top], expected[:, top], atol=1e-4)
    assert tracks.visible[:2].all() and not tracks.visible[2:, ~top].any()
    # No depth: the stream's scale puts the median query depth at 1, in the optical frame.
    assert tracks.world_frame == "cam0_optical"
    np.testing.assert_allclose(tracks.xyz[:, :, 2], 1.0, atol=1e-6)
    np.testing.assert_allclose(tracks.xyz[3, :, 0] - tracks.xyz[0, :, 0], 3 * STEP_M / PLANE_Z, atol=1e-6)


def test_depth_gives_metric_world_points():
    tracks = St4RTrackBackend(SlidingPlanePredictor()).track_window(_frames(range(3), depth=True), QUERIES)
    assert tracks.world_frame == "world"
    anchor_world = CAMERA.unproject(QUERIES, np.full(len(QUERIES), PLANE_Z))
    np.testing.assert_allclose(tracks.xyz[0], anchor_world, atol=1e-5)
    np.testing.assert_allclose(tracks.xyz[2] - tracks.xyz[0], np.tile([2 * STEP_M, 0, 0], (4, 1)), atol=1e-5)


def test_estimated_focal_without_calibration():
    tracks = St4RTrackBackend(SlidingPlanePredictor()).track_window(_frames(range(2), model=None), QUERIES[:2])
    np.testing.assert_allclose(tracks.uv[1] - tracks.uv[0], [[8.0, 0.0]] * 2, atol=1e-3)


def test_memoized_incremental_calls_equal_one_call_and_are_deterministic():
    predictor = SlidingPlanePredictor()
    backend = St4RTrackBackend(predictor)
    frames = _frames(range(5))
    for count in range(1, 6):
        incremental = backend.track_window(frames[:count], QUERIES)
    assert predictor.pairs == 5  # one network pair per new frame
    fresh = St4RTrackBackend(SlidingPlanePredictor()).track_window(frames, QUERIES)
    for name in ("uv", "visible", "xyz", "confidence", "descriptors"):
        np.testing.assert_array_equal(getattr(incremental, name), getattr(fresh, name), err_msg=name)
    backend.track_window(frames[1:3], QUERIES)  # a new anchor starts a new memo
    assert predictor.pairs == 7


def test_default_queries_are_the_input_grid():
    tracks = St4RTrackBackend(SlidingPlanePredictor(), BackendConfig(grid_stride_px=32)).track_window(_frames(range(2)))
    assert tracks.num_tracks == 4 * 3
    np.testing.assert_allclose(tracks.uv[0, 0], [32.5, 32.5])  # input (16, 16) -> original


def test_streaming_tracker_runs_on_the_backend():
    tracker = StreamingTracker("cam0", St4RTrackBackend(SlidingPlanePredictor()), StreamingConfig(keyframe_interval_frames=3))
    for frame in _frames(range(7)):
        tracker.push(frame)
    tracks = tracker.window_tracks()
    assert tracks.num_frames == 7 and tracks.num_tracks > 0 and tracks.xyz is not None
    moving = tracks.visible[1:] & tracks.visible[:-1]
    steps = tracks.uv[1:] - tracks.uv[:-1]
    np.testing.assert_allclose(steps[moving], np.tile([8.0, 0.0], (int(moving.sum()), 1)), atol=1e-3)


def test_window_validation():
    backend = St4RTrackBackend(SlidingPlanePredictor())
    with pytest.raises(ValueError, match="increase"):
        backend.track_window(_frames([1, 0]))
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        backend.track_window(_frames([0]), np.zeros(3))


def _synthetic_window(num_frames=5):
    world = SyntheticWorld(SynthConfig(num_cameras=1, duration_s=0.5, seed=7, size_wh=(64, 48), noise_std=0.0))
    frames = list(world.frames(0))[:num_frames]
    return world, frames


def test_geometric_pseudo_labels_follow_the_truth():
    world, frames = _synthetic_window()
    crop = plan_input_crop((64, 48), (64, 48))
    queries = np.stack(np.meshgrid(np.arange(4.0, 64, 8), np.arange(4.0, 48, 8)), -1).reshape(-1, 2)
    labels = geometric_pseudo_labels(frames, crop, query_uv=queries)
    times = world.frame_times(0).capture_s[: len(frames)]
    truth = world.gt_tracks(0, float(times[0]), queries, times)
    evaluate = labels.visible.numpy() & truth.visible
    assert evaluate[1:].sum() > 0.5 * len(queries) * (len(frames) - 1)
    assert pixel_error_px(labels.tracks_uv.numpy(), truth.uv, evaluate) < 0.5
    assert labels.depth_m is not None and labels.depth_m.shape == (len(frames), 48, 64)


def test_tta_with_geometric_labels_lowers_the_2d_error_against_the_truth():
    torch.manual_seed(0)
    model = St4RTrackNet(St4RTrackConfig.small(input_size_wh=(64, 48)))
    with torch.no_grad():  # start in front of the camera, as a pretrained model would
        for head in (model.downstream_head1, model.downstream_head2):
            head.dpt.head[4].bias.copy_(torch.tensor([0.0, 0.0, 1.1, 0.0]))
    world, frames = _synthetic_window()
    queries = np.stack(np.meshgrid(np.arange(4.0, 64, 8), np.arange(4.0, 48, 8)), -1).reshape(-1, 2)
    times = world.frame_times(0).capture_s[: len(frames)]
    truth = world.gt_tracks(0, float(times[0]), queries, times)

    def error_px():
        backend = St4RTrackBackend(St4RTrackPredictor(model), BackendConfig(visibility_rel_conf=0.0))
        tracks = backend.track_window(frames, queries)
        return pixel_error_px(tracks.uv[1:], truth.uv[1:], truth.visible[1:] & tracks.visible[1:])

    before = error_px()
    history = adapt_with_geometric_labels(model, frames, steps=10, lr=1e-3, query_uv=queries)
    after = error_px()
    assert history[-1]["track_2d_px"] < 0.7 * history[0]["track_2d_px"]
    assert after < 0.7 * before


def test_shipped_weights_load_by_default_and_stay_small():
    from s4_core.st4rtrack import DEFAULT_WEIGHTS, St4RTrackConfig

    assert DEFAULT_WEIGHTS.stat().st_size <= 20 * 2**20
    backend = St4RTrackBackend()  # no predictor: the shipped weights
    assert backend.predictor.model.config == St4RTrackConfig.small()
    _, frames = _synthetic_window(num_frames=3)
    tracks = backend.track_window(frames)
    assert tracks.num_tracks == (128 // 8) * (96 // 8) and np.isfinite(tracks.xyz).all()  # the input grid
