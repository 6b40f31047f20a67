"""The shipped St4RTrack weights on held-out synthetic scenes, beside two baselines.

Protocol (St4RTrack's): query points on a grid of the anchor frame, tracked through a window;
predicted 3D tracks in the anchor camera's frame are aligned to the truth by one scale per
window, the median ratio of ground-truth to predicted point norms; then 3D EPE and APD.
Compared on the same windows:

* ``static``: every point stays at its true anchor position (perfect depth, no motion), which
  on the mostly static synthetic room is strong overall and only loses on moving points;
* ``held``: the model's own anchor-frame prediction held still, so the gap to the model's
  tracks is what head 1 adds by tracking;
* ``geometric``: the geometric backend with the frames' depth (metric, no alignment needed).

Because the synthetic room is mostly static, the tracking itself is also scored apart from
depth: the error of each point's displacement from its anchor position, ``|(p_t - p_0) -
(g_t - g_0)|`` on moving points, where ``static`` predicts no motion at all.

Scenes are evaluation seeds (:data:`~s4_core.st4rtrack.training.EVAL_SEEDS`), never trained on,
rendered at the network's input size (128x96), which is what the model was trained on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from s4_core.bench.harness import BenchContext, BenchRow, at_least, at_most
from s4_core.frames import Frame
from s4_core.st4rtrack.backend import DEFAULT_WEIGHTS, BackendConfig, St4RTrackBackend, default_predictor
from s4_core.st4rtrack.training.config import EVAL_SEEDS
from s4_core.synth import SynthConfig, SyntheticWorld
from s4_core.tracking import GeometricBackend
from s4_core.tracking.metrics import apd_3d_percent, epe_3d_m

log = logging.getLogger(__name__)

SIZE_WH = (128, 96)
WINDOW_FRAMES = 6
STRIDE = 3
GRID_PX = 8
MOVING_M = 0.01  # a point counts as moving at a frame once it is this far from its anchor position
METHODS = ("learned", "held", "static", "geometric")


@dataclass(frozen=True)
class WindowResult:
    """Per-point predictions of every method and the truth on one window (anchor camera frame).

    Attributes:
        predictions: method -> [T, N, 3] metres (NaN where a method has no point).
        truth: [T, N, 3] metres.
        evaluate: points visible in the truth [T, N].
        moving: evaluated points away from their anchor position [T, N].
        extent_m: diagonal of the bounding box of the true anchor points.
    """

    predictions: dict[str, np.ndarray]
    truth: np.ndarray
    evaluate: np.ndarray
    moving: np.ndarray
    extent_m: float


def median_scale_aligned(pred: np.ndarray, truth: np.ndarray, evaluate: np.ndarray) -> np.ndarray:
    """``pred`` [T, N, 3] times the median ratio of true to predicted norms over ``evaluate``."""
    usable = evaluate & np.all(np.isfinite(pred), axis=-1)
    ratio = np.linalg.norm(truth[usable], axis=-1) / np.maximum(np.linalg.norm(pred[usable], axis=-1), 1e-9)
    return pred * (float(np.median(ratio)) if len(ratio) else np.nan)


def evaluate_window(world: SyntheticWorld, camera_index: int, frames: list[Frame], backend: St4RTrackBackend) -> WindowResult:
    """Run every method on one window (anchor first) and collect the aligned predictions."""
    camera = world.cameras[camera_index]
    half = GRID_PX // 2
    grid = np.stack(np.meshgrid(np.arange(half, SIZE_WH[0], GRID_PX), np.arange(half, SIZE_WH[1], GRID_PX)), -1)
    queries = grid.reshape(-1, 2).astype(np.float64)  # pixel centres
    times = world.frame_times(camera_index)
    capture_s = times.capture_s[np.searchsorted(times.stamp_ns, [f.stamp_ns for f in frames])]
    gt = world.gt_tracks(camera_index, float(capture_s[0]), queries, capture_s)
    truth = camera.world_to_camera(gt.xyz)
    evaluate = gt.visible & np.all(np.isfinite(truth), axis=-1)
    rgb_only = [dataclasses.replace(f, depth_m=None) for f in frames]
    learned = backend.track_window(rgb_only, queries).xyz.astype(np.float64)
    geometric = GeometricBackend().track_window(frames, queries).xyz.astype(np.float64)
    predictions = {
        "learned": median_scale_aligned(learned, truth, evaluate),
        "held": median_scale_aligned(np.broadcast_to(learned[:1], learned.shape), truth, evaluate),
        "static": np.broadcast_to(truth[:1], truth.shape).copy(),
        "geometric": camera.world_to_camera(geometric),
    }
    anchor_points = truth[0][evaluate[0]]
    extent = float(np.linalg.norm(anchor_points.max(0) - anchor_points.min(0))) if len(anchor_points) else np.nan
    moving = evaluate & (np.linalg.norm(truth - truth[:1], axis=-1) > MOVING_M)
    return WindowResult(predictions, truth, evaluate, moving, extent)


def held_out_windows(quick: bool) -> list[tuple[SyntheticWorld, int, list[Frame]]]:
    """(world, camera, frames) of the evaluation scenes: one window per camera per seed."""
    seeds = list(EVAL_SEEDS)[: 2 if quick else 10]
    windows = []
    for seed in seeds:
        world = SyntheticWorld(SynthConfig(num_cameras=4, duration_s=1.5, seed=seed, size_wh=SIZE_WH))
        for i in range(2 if quick else 4):
            frames = list(world.frames(i))
            start = len(frames) // 4
            windows.append((world, i, frames[start : start + WINDOW_FRAMES * STRIDE : STRIDE]))
    return windows


def _pooled(results: list[WindowResult], method: str, mask_name: str, displacement: bool = False) -> tuple[float, float]:
    """(EPE m, APD %) of ``method`` over all windows' frames after the anchor, on the points of
    mask ``evaluate`` or ``moving``; of the displacements from the anchor when ``displacement``."""

    def rows(points: np.ndarray) -> np.ndarray:
        return ((points[1:] - points[:1]) if displacement else points[1:]).reshape(-1, 3)

    pred = np.concatenate([rows(r.predictions[method]) for r in results])[None]
    truth = np.concatenate([rows(r.truth) for r in results])[None]
    mask = np.concatenate([getattr(r, mask_name)[1:].reshape(-1) for r in results])[None]
    return epe_3d_m(pred, truth, mask), apd_3d_percent(pred, truth, mask)


def _inference_fps(backend: St4RTrackBackend, frames: list[Frame], repeats: int = 3) -> float:
    """Window frames per second of the network alone (one pair per frame) on one CPU thread.

    One thread: on a shared two-core machine a second OpenMP thread made this tiny model 5-10x
    slower (threads spin-waiting for a core), and one thread is also what a per-camera tracker
    process gets on a busy robot computer.
    """
    predictor = backend.predictor
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        predictor.predict(frames[0].rgb, [f.rgb for f in frames[:1]])  # warm-up
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            predictor.predict(frames[0].rgb, [f.rgb for f in frames])
            rates.append(len(frames) / (time.perf_counter() - start))
    finally:
        torch.set_num_threads(threads)
    return float(np.median(rates))


def run(ctx: BenchContext) -> list[BenchRow]:
    """Rows: EPE/APD of the model and the baselines (all and moving points), inference rate."""
    if not DEFAULT_WEIGHTS.is_file():
        return [BenchRow("learned St4RTrack", float("nan"), "", f"no weights at {DEFAULT_WEIGHTS}")]
    backend = St4RTrackBackend(default_predictor(), BackendConfig(visibility_rel_conf=0.0))
    windows = held_out_windows(ctx.quick)
    results = [evaluate_window(world, i, frames, backend) for world, i, frames in windows]
    extent = float(np.nanmedian([r.extent_m for r in results]))
    size = f"{SIZE_WH[0]}x{SIZE_WH[1]}"
    scene = f"{len(results)} held-out windows, seeds {EVAL_SEEDS.start}.., {size}, {WINDOW_FRAMES} frames stride {STRIDE}"
    rows = [BenchRow("learned: scene extent (median anchor bbox diagonal)", extent, "m", scene)]
    for mask_name, label in (("evaluate", "all points"), ("moving", "moving points")):
        scores = {method: _pooled(results, method, mask_name) for method in METHODS}
        for method in METHODS:
            epe, apd = scores[method]
            target = at_most(epe, 0.1 * extent) if method == "learned" and mask_name == "evaluate" else ("", None)
            rows.append(BenchRow(f"learned: 3D EPE {method} ({label})", epe, "m", scene, *target))
            rows.append(BenchRow(f"learned: 3D APD {method} ({label})", apd, "%", scene))
        gain = scores["held"][0] / scores["learned"][0]  # > 1 when tracking beats holding still
        rows.append(BenchRow(f"learned: EPE held / learned ({label})", gain, "x", scene, *at_least(gain, 1.1)))
    motion = {m: _pooled(results, m, "moving", displacement=True)[0] for m in ("learned", "static", "geometric")}
    for method, error in motion.items():
        target = at_most(error, 0.5 * motion["static"]) if method == "learned" else ("", None)
        rows.append(BenchRow(f"learned: 3D motion error {method} (moving points)", error, "m", scene, *target))
    fps = _inference_fps(backend, windows[0][2])
    rows.append(BenchRow("learned: St4RTrack small inference (CPU)", fps, "frames/s", f"{size}, 1 thread"))
    return rows
