"""Known-answer tests of the synthetic cameras' clocks, frame times and config checks."""

from __future__ import annotations

import numpy as np
import pytest

from s4_core.clock import ClockModel, ns_to_seconds, seconds_to_ns
from s4_core.synth import TIME_BASE_S, SynthConfig, SyntheticWorld


def test_default_clocks_follow_the_documented_ranges():
    for seed in range(5):
        config = SynthConfig(num_cameras=6, duration_s=1.0, seed=seed, size_wh=(16, 12))
        fps = config.resolved_fps()
        offsets = config.resolved_offsets_s()
        drifts = config.resolved_drift_ppm()
        assert fps == (30.0, 25.0, 30.0, 25.0, 30.0, 25.0)
        assert offsets[0] == 0.0 and drifts[0] == 0.0
        assert all(abs(o) <= 3.0 for o in offsets) and all(abs(d) <= 50.0 for d in drifts)
        fractions = [(o * f) % 1.0 for o, f in zip(offsets[1:], fps[1:])]
        assert len(set(np.round(fractions, 6))) == len(fractions)  # sub-frame parts, all different


def test_given_clocks_are_the_ground_truth_clocks():
    config = SynthConfig(num_cameras=3, duration_s=1.0, size_wh=(16, 12), offsets_s=(0.0, -2.5, 1.037), drift_ppm=(0.0, 40.0, -25.0))
    clocks = SyntheticWorld(config).clocks
    assert clocks["cam1"] == ClockModel(offset_s=-2.5, drift_ppm=40.0, t0_s=TIME_BASE_S)
    assert clocks["cam2"] == ClockModel(offset_s=1.037, drift_ppm=-25.0, t0_s=TIME_BASE_S)


@pytest.mark.parametrize("drop_rate", [0.0, 0.3])
def test_stamps_are_regular_in_each_camera_clock_and_captures_fill_the_recording(drop_rate):
    duration_s = 4.0
    config = SynthConfig(
        num_cameras=3,
        duration_s=duration_s,
        seed=11,
        size_wh=(16, 12),
        fps=(30.0, 25.0, 15.0),
        offsets_s=(0.0, 1.2345, -2.71),
        drift_ppm=(0.0, 50.0, -50.0),
        drop_rate=drop_rate,
    )
    world = SyntheticWorld(config)
    for i, camera in enumerate(world.cameras):
        fps = config.fps[i]
        times = world.frame_times(i)
        clock = world.clocks[camera.name]
        assert abs(times.num_nominal - fps * duration_s) <= 1
        assert len(times.stamp_ns) + times.num_dropped == times.num_nominal
        if drop_rate == 0.0:
            assert times.num_dropped == 0
        else:
            assert 0.15 < times.num_dropped / times.num_nominal < 0.45
        # regular in the camera's own clock: stamp = first + index / fps (to the nanosecond)
        steps_ns = np.round((times.frame_index - times.frame_index[0]) * 1e9 / fps).astype(np.int64)
        grid_ns = times.stamp_ns[0] + steps_ns
        assert np.max(np.abs(times.stamp_ns - grid_ns)) <= 1
        # the clock convention, both ways
        np.testing.assert_allclose(times.capture_s, clock.capture_time(ns_to_seconds(times.stamp_ns)), rtol=0, atol=1e-9)
        assert np.max(np.abs(seconds_to_ns(clock.stamp_at(times.capture_s)) - times.stamp_ns)) <= 1000
        assert times.capture_s.min() >= TIME_BASE_S and times.capture_s.max() < TIME_BASE_S + duration_s
        assert np.all(np.diff(times.capture_s) > 0)


def test_frames_carry_camera_stamps_noise_and_depth():
    config = SynthConfig(num_cameras=2, duration_s=0.2, seed=3, size_wh=(32, 24), noise_std=3.0)
    world = SyntheticWorld(config)
    times = world.frame_times(1)
    frames = list(world.frames(1))
    assert [f.stamp_ns for f in frames] == list(times.stamp_ns)
    clean = world.render(1, float(times.capture_s[0]))
    residual = frames[0].rgb.astype(float) - clean.rgb
    assert 2.0 < residual.std() < 4.0
    np.testing.assert_array_equal(frames[0].depth_m, clean.depth_m)
    assert frames[0].model is world.cameras[1]
    without_depth = SyntheticWorld(SynthConfig(num_cameras=2, duration_s=0.2, size_wh=(32, 24), with_depth=False))
    assert next(without_depth.frames(0)).depth_m is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_cameras": 0}, "at least one camera"),
        ({"duration_s": 0.0}, "duration"),
        ({"size_wh": (4, 240)}, "size"),
        ({"drop_rate": 1.0}, "drop rate"),
        ({"num_cameras": 2, "fps": (30.0,)}, "fps has 1 values for 2 cameras"),
        ({"num_cameras": 2, "fps": (30.0, -1.0)}, "frame rate"),
        ({"num_cameras": 2, "offsets_s": (0.5, 0.0)}, "reference clock"),
        ({"num_cameras": 2, "drift_ppm": (1.0, 0.0)}, "reference clock"),
    ],
)
def test_bad_configs_are_rejected_with_a_message_naming_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SynthConfig(**kwargs)
