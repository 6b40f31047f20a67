"""StreamingPipeline's knobs that must not change results: frames that skip splat training, and
frames pushed in batches (the cameras then track concurrently); and the spare-time training of
the live node."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from s4_core.offsets import SyncState
from s4_core.pipeline import PipelineConfig, StreamingPipeline
from s4_core.splat.model import SplatModelConfig
from s4_core.splat.render import render
from s4_core.synth import SyntheticWorld
from s4_core.synth.config import SynthConfig
from s4_core.threads import driver_thread, shared_pool
from s4_core.tracking.queries import QueryConfig
from s4_core.tracking.streaming import StreamingConfig


def _run(world: SyntheticWorld, train_splats: bool, batch: int = 1, seed_from_depth: bool = True) -> tuple[StreamingPipeline, list]:
    config = PipelineConfig(
        tracking=StreamingConfig(window_frames=None, window_s=2.0, queries=replace(QueryConfig(), grid_step_px=12)),
        reestimate_period_s=0.5, splats=SplatModelConfig(steps_per_frame=1, seed_from_depth=seed_from_depth), splat_camera_stride=1,
    )  # fmt: skip
    pipeline = StreamingPipeline(config, {c.name: c for c in world.cameras}, "cam0")
    frames = sorted((f for i in range(len(world.cameras)) for f in world.frames(i)), key=lambda f: f.stamp_ns)
    if batch == 1:
        updates = [u for f in frames for u in pipeline.add_frame(f, train_splats=train_splats)]
    else:
        batches = [frames[i : i + batch] for i in range(0, len(frames), batch)]
        updates = [u for b in batches for u in pipeline.add_frames(b, train_splats=train_splats)]
    return pipeline, updates + pipeline.finish()


def test_frames_that_skip_splat_training_leave_tracks_and_offsets_alone():
    world = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=1.5, size_wh=(160, 120), offsets_s=(0.0, 0.0), drift_ppm=(0.0, 0.0)))
    trained, trained_updates = _run(world, train_splats=True)
    skipped, skipped_updates = _run(world, train_splats=False)
    assert trained.splat_steps > 0, "the reference camera is locked from the start: its frames must train"
    assert skipped.splat_steps == 0
    assert skipped_updates[-1].splats is not None, "the model still starts (from tracks) and is published"
    assert [u.stamp_ns for u in trained_updates] == [u.stamp_ns for u in skipped_updates]
    for a, b in zip(trained_updates, skipped_updates):
        assert a.offsets.keys() == b.offsets.keys() and a.tracks.keys() == b.tracks.keys()
        np.testing.assert_array_equal([o.offset_s for o in a.offsets.values()], [o.offset_s for o in b.offsets.values()])
        for camera in a.tracks:
            np.testing.assert_array_equal(a.tracks[camera].uv, b.tracks[camera].uv)


def test_spare_time_training_takes_a_frame_only_from_a_locked_camera():
    """The live node's path: frames pushed untrained, then handed to train_splats_on."""
    world = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=1.5, size_wh=(160, 120), offsets_s=(0.0, 3.0), drift_ppm=(0.0, 0.0)))
    pipeline, _ = _run(world, train_splats=False)
    offsets = pipeline.offsets()
    assert offsets["cam0"].state is SyncState.LOCKED and offsets["cam1"].state is not SyncState.LOCKED  # 3 s: beyond the 2-s window
    newest = {i: list(world.frames(i))[-1] for i in range(2)}
    assert not pipeline.train_splats_on(newest[1]) and pipeline.splat_steps == 0
    assert pipeline.train_splats_on(replace(newest[0], model=None))  # the pipeline knows the camera's model
    assert pipeline.splat_steps == 1


def test_spare_frames_are_each_cameras_newest_offered_once():
    """What train_spare_frame offers: each camera's newest untrained frame, the camera that
    waited longest first (cam0: its stamps come 3 s before cam1's), each once; the unlocked
    camera's is refused."""
    world = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=1.5, size_wh=(160, 120), offsets_s=(0.0, 3.0), drift_ppm=(0.0, 0.0)))
    pipeline, _ = _run(world, train_splats=False)
    model = pipeline.splat_model
    before = model.newest_capture_s
    assert pipeline.train_spare_frame() and pipeline.splat_steps == 1
    newest_cam0_s = world.frame_times(0).capture_s[-1] - model.time_origin_s
    assert model.newest_capture_s == pytest.approx(newest_cam0_s, abs=1e-6) and model.newest_capture_s > before
    assert pipeline.train_spare_frame() and pipeline.splat_steps == 1  # cam1's newest: not LOCKED
    assert not pipeline.train_spare_frame()


def test_frames_pushed_in_batches_give_the_updates_of_frames_pushed_one_by_one():
    world = SyntheticWorld(SynthConfig(num_cameras=3, duration_s=1.5, size_wh=(160, 120), offsets_s=(0.0, 0.0, 0.0),
                                       drift_ppm=(0.0, 0.0, 0.0)))  # fmt: skip
    single, single_updates = _run(world, train_splats=True)
    batched, batched_updates = _run(world, train_splats=True, batch=25)  # each batch spans estimates and keyframes
    assert len(single_updates) >= 3
    assert [u.stamp_ns for u in single_updates] == [u.stamp_ns for u in batched_updates]
    assert single.splat_steps == batched.splat_steps > 0
    for a, b in zip(single_updates, batched_updates):
        np.testing.assert_equal({c: dataclasses.astuple(o) for c, o in a.offsets.items()},
                                {c: dataclasses.astuple(o) for c, o in b.offsets.items()})  # NaN equals NaN here
        for camera in a.tracks:
            np.testing.assert_array_equal(a.tracks[camera].uv, b.tracks[camera].uv)
            np.testing.assert_array_equal(a.tracks[camera].track_ids, b.tracks[camera].track_ids)
        assert (a.splats is None) == (b.splats is None)
        if a.splats is not None:
            # Frames that come while an estimate runs are trained once it is collected, at the
            # first push after it ended: that push depends on the estimate's speed, not on the
            # batching, so the model can take its steps in another order (measured over eight
            # batched runs: the means agree with the one-by-one run's to 5e-7 m, 4e-5 m or 3e-4 m).
            np.testing.assert_allclose(a.splats.means, b.splats.means, rtol=0, atol=1e-3)
    assert single_updates[-1].splats is not None


def test_an_estimate_still_running_after_the_last_frame_is_collected_by_an_empty_push():
    """A live node pushes nothing when no frame comes; the estimate that ran meanwhile must not
    wait for the next frame, nor come twice."""
    world = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=1.5, size_wh=(160, 120), offsets_s=(0.0, 0.0), drift_ppm=(0.0, 0.0)))
    config = PipelineConfig(tracking=StreamingConfig(window_frames=None, window_s=2.0), reestimate_period_s=0.5)
    pipeline = StreamingPipeline(config, {c.name: c for c in world.cameras}, "cam0")
    frames = sorted((f for i in range(len(world.cameras)) for f in world.frames(i)), key=lambda f: f.stamp_ns)
    reference = [f for f in frames if f.camera == "cam0"]
    last = frames.index(reference[30])  # due: 1.0 s after the first estimate, two periods
    updates = pipeline.add_frames(frames[: last + 1])
    deadline = time.monotonic() + 120.0
    while (not updates or updates[-1].stamp_ns != reference[30].stamp_ns) and time.monotonic() < deadline:
        updates += pipeline.add_frames([])
        time.sleep(0.01)
    assert [u.stamp_ns for u in updates] == [reference[k].stamp_ns for k in (0, 15, 30)]
    assert pipeline.finish() == [], "the last estimate covered the newest reference frame already"


def test_a_live_push_does_not_wait_for_the_running_estimate():
    """Live, frames keep coming while a push waits: with ``wait_for_estimates=False`` an estimate
    that falls due while the previous one cannot finish is not waited for; the next starts at
    the first reference frame after that one ended."""
    world = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=1.5, size_wh=(160, 120), offsets_s=(0.0, 0.0), drift_ppm=(0.0, 0.0)))
    config = PipelineConfig(tracking=StreamingConfig(window_frames=None, window_s=2.0), reestimate_period_s=0.5)
    pipeline = StreamingPipeline(config, {c.name: c for c in world.cameras}, "cam0")
    frames = sorted((f for i in range(len(world.cameras)) for f in world.frames(i)), key=lambda f: f.stamp_ns)
    reference = [f for f in frames if f.camera == "cam0"]
    release = threading.Event()
    held = driver_thread().submit(release.wait, 60.0)  # the first estimate queues behind this
    try:
        pushing = threading.Thread(target=lambda: pipeline.add_frames(frames[: frames.index(reference[35]) + 1],
                                                                      train_splats=False, wait_for_estimates=False),
                                   daemon=True)  # fmt: skip
        pushing.start()
        pushing.join(30.0)
        assert not pushing.is_alive(), "the push waited for the estimate two periods ago"
    finally:
        release.set()
        held.result()
    updates = []
    deadline = time.monotonic() + 120.0
    while not updates and time.monotonic() < deadline:
        updates += pipeline.add_frames([], wait_for_estimates=False)
        time.sleep(0.01)
    assert [u.stamp_ns for u in updates] == [reference[0].stamp_ns], "estimates that fell due meanwhile piled up"
    next_frames = frames[frames.index(reference[35]) + 1 : frames.index(reference[36]) + 1]
    updates += pipeline.add_frames(next_frames, wait_for_estimates=False)
    updates += pipeline.finish()  # the estimate the frame after its end started, and no other
    assert [u.stamp_ns for u in updates] == [reference[0].stamp_ns, reference[36].stamp_ns]


def test_cameras_track_while_every_thread_of_the_estimates_pool_is_busy():
    """A live node's frames must not queue behind a running estimate's pair timings: with
    every thread of the estimates' pool held, two cameras' frames are still tracked (the
    estimate they start waits for the pool instead)."""
    world = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=0.5, size_wh=(160, 120), offsets_s=(0.0, 0.0), drift_ppm=(0.0, 0.0)))
    config = PipelineConfig(tracking=StreamingConfig(window_frames=None, window_s=2.0), reestimate_period_s=600.0)
    pipeline = StreamingPipeline(config, {c.name: c for c in world.cameras}, "cam0")
    frames = sorted((f for i in range(len(world.cameras)) for f in world.frames(i)), key=lambda f: f.stamp_ns)
    release = threading.Event()
    held = [shared_pool().submit(release.wait, 60.0) for _ in range(os.cpu_count() or 1)]  # one per pool thread
    try:
        tracking = threading.Thread(target=pipeline.add_frames, args=(frames,), daemon=True)
        tracking.start()
        tracking.join(30.0)
        assert not tracking.is_alive(), "tracking waited for the estimates' pool"
    finally:
        release.set()
        for future in held:
            future.result()
    last_window = pipeline.finish()[-1].tracks
    for camera in ("cam0", "cam1"):
        assert last_window[camera].stamps_ns[-1] == max(f.stamp_ns for f in frames if f.camera == camera)


def test_depth_cameras_seed_the_splat_model_with_the_surfaces_they_see():
    """Tracks alone give the splat model a Gaussian per tracked point (a 12-px grid here), so
    most of the room is empty in the published model; each RGB-D camera's first trained depth
    frame fills in the surfaces it sees."""
    from s4_core.splat.metrics import psnr_db

    world = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=1.5, size_wh=(160, 120), offsets_s=(0.0, 0.0), drift_ppm=(0.0, 0.0)))
    scores = {}
    for seeded in (False, True):
        pipeline, updates = _run(world, train_splats=True, seed_from_depth=seeded)
        snapshot = updates[-1].splats
        assert snapshot is not None
        capture_s = snapshot.t_s  # the newest reference frame's time (the reference clock is the capture clock)
        rendered = render(torch.as_tensor(snapshot.means), torch.as_tensor(snapshot.quats), torch.as_tensor(snapshot.scales),
                          torch.as_tensor(snapshot.opacities), torch.as_tensor(snapshot.colours), world.cameras[0])  # fmt: skip
        scores[seeded] = (len(snapshot.means), psnr_db(rendered.rgb.clamp(0, 1).numpy(), world.render(0, capture_s).rgb / 255.0))
    (tracked_count, tracked_db), (seeded_count, seeded_db) = scores[False], scores[True]
    assert seeded_count > 3 * tracked_count
    assert seeded_db > tracked_db + 3.0
