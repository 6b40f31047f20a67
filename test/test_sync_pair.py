"""Known-answer tests of pair timing: integer lag, sub-frame offset and its stddev."""

import numpy as np
import pytest
from test_sync_scene import ToyRigConfig, make_toy_rig

from s4_core.correspondences import Correspondences
from s4_core.sync import estimate_pair_offset, frame_lag_by_motion_overlap, gather_matched_tracks


def _gt_corr(rig, i, j) -> Correspondences:
    gt = rig.gt_match(i, j)
    ids_a = np.array(sorted(gt), dtype=np.int64)
    ids_b = np.array([gt[k] for k in ids_a], dtype=np.int64)
    return Correspondences(rig.tracks[i].camera, rig.tracks[j].camera, ids_a, ids_b, np.ones(len(ids_a), np.float32), 0.0)


@pytest.mark.parametrize("offset_s", [0.037, -3.4])
def test_integer_lag_finds_offsets_of_several_seconds_across_frame_rates(offset_s):
    cfg = ToyRigConfig(num_cameras=2, duration_s=8.0, offsets_s=(0.0, offset_s), drift_ppm=(0.0, 0.0), seed=1)
    rig = make_toy_rig(cfg)
    lag = frame_lag_by_motion_overlap(gather_matched_tracks(rig.tracks[0], rig.tracks[1], _gt_corr(rig, 0, 1), 100))
    assert lag.ok
    assert abs(lag.offset_s - offset_s) <= lag.step_s


@pytest.mark.parametrize("shared_world", [False, True])
def test_37_ms_offset_comes_back_as_37_ms_in_3d(shared_world):
    rig = make_toy_rig(ToyRigConfig(num_cameras=2, drift_ppm=(0.0, 0.0), shared_world=shared_world, seed=2))
    pair = estimate_pair_offset(rig.tracks[0], rig.tracks[1], _gt_corr(rig, 0, 1))
    assert pair.ok
    assert abs(pair.offset_s - 0.037) < 0.05 / 30  # 0.05 frames
    assert abs(pair.offset_s - 0.037) < 4 * pair.stddev_s + 1e-5


def test_rgb_only_with_calibration_uses_epipolar_geometry():
    rig = make_toy_rig(ToyRigConfig(num_cameras=3, with_3d=False, seed=3))
    cams = (rig.cameras[0], rig.cameras[2])
    pair = estimate_pair_offset(rig.tracks[0], rig.tracks[2], _gt_corr(rig, 0, 2), cameras=cams)
    truth = rig.pair_offset_s(0, 2, pair.t_a_s)
    assert pair.ok and abs(pair.offset_s - truth) < 0.25 / 30


def test_stddev_is_honest_over_scenes():
    z = []
    for seed in range(6):
        rig = make_toy_rig(ToyRigConfig(num_cameras=2, duration_s=4.0, noise_m=0.01, seed=10 + seed))
        pair = estimate_pair_offset(rig.tracks[0], rig.tracks[1], _gt_corr(rig, 0, 1))
        assert pair.ok
        z.append((pair.offset_s - rig.pair_offset_s(0, 1, pair.t_a_s)) / pair.stddev_s)
    assert np.mean(np.abs(z) <= 3.0) >= 5 / 6


def test_static_scene_gives_no_offset():
    rig = make_toy_rig(ToyRigConfig(num_cameras=2, static=True, seed=4))
    pair = estimate_pair_offset(rig.tracks[0], rig.tracks[1], _gt_corr(rig, 0, 1))
    assert not pair.ok and pair.reason and not np.isfinite(pair.offset_s)
