"""Online and offline synchronization end to end on the toy rig, including degenerate input."""

import numpy as np
import pytest
from test_sync_scene import ToyRigConfig, make_toy_rig

from s4_core.offsets import SyncState
from s4_core.sync import ClockFilterConfig, OfflineSyncConfig, OnlineClockSync, OnlineSyncConfig, estimate_offsets_offline, slice_by_stamps

WINDOW_S, HOP_S = 5.0, 2.5


def _run_online(rig, num_windows, stop_camera=None, stop_after=None):
    config = OnlineSyncConfig("cam0", filter=ClockFilterConfig(evidence_timeout_s=4.0), reestimate_period_s=HOP_S, window_s=WINDOW_S)
    sync = OnlineClockSync(config)
    history = []
    for w in range(num_windows):
        lo = w * HOP_S
        windows = {}
        for k, ts in enumerate(rig.tracks):
            start = lo if stop_camera != k or w < stop_after else (stop_after - 1) * HOP_S  # a stopped camera's buffer freezes
            windows[ts.camera] = slice_by_stamps(ts, start, start + WINDOW_S)
        history.append(sync.update(windows))
    return history


def _long_rig(**kw):
    base = dict(num_cameras=3, num_points=80, duration_s=14.0, offsets_s=(0.0, 0.037, -1.2), seed=7)
    base.update(kw)
    return make_toy_rig(ToyRigConfig(**base))


def test_online_locks_on_the_true_offsets_and_drift_sign():
    rig = _long_rig()
    last = _run_online(rig, 4)[-1]
    for k in (1, 2):
        est = last[f"cam{k}"]
        assert est.state is SyncState.LOCKED
        truth = rig.clocks[k].offset_at(est.t0_s)
        assert abs(est.offset_s - truth) < 0.05 / 30 and abs(est.offset_s - truth) < 4 * est.stddev_s + 1e-5
    assert last["cam0"].offset_s == 0.0


def test_a_settled_rig_reestimates_at_the_settled_period_and_a_silent_camera_brings_back_the_short_one():
    """Windows slide every half period. Estimates (new filter times of a LOCKED camera) come
    a period apart until every camera is settled, then a settled period apart; once a camera
    falls silent, it is no longer settled, and the short period is back."""
    rig = _long_rig(duration_s=30.0)
    config = OnlineSyncConfig("cam0", reestimate_period_s=HOP_S, settled_period_s=2 * HOP_S, window_s=WINDOW_S)
    sync = OnlineClockSync(config)
    periods, stamps_of_cam1 = [], []
    for w in range(int((30.0 - WINDOW_S) / (HOP_S / 2))):
        lo = w * HOP_S / 2
        windows = {ts.camera: slice_by_stamps(ts, lo, lo + WINDOW_S) for ts in rig.tracks}
        windows["cam2"] = slice_by_stamps(rig.tracks[2], min(lo, 16.0), min(lo, 16.0) + WINDOW_S)  # stops at 21 s
        out = sync.update(windows)
        periods.append(sync.period_s)
        if out["cam1"].state is SyncState.LOCKED and (not stamps_of_cam1 or out["cam1"].t0_s != stamps_of_cam1[-1]):
            stamps_of_cam1.append(out["cam1"].t0_s)
    gaps = np.diff(stamps_of_cam1)
    assert periods[0] == HOP_S and 2 * HOP_S in periods
    assert np.any(np.abs(gaps - 2 * HOP_S) < 0.1) and np.all(gaps > HOP_S - 0.1)
    assert periods[-1] == HOP_S  # cam2 stopped: no longer settled


def test_a_schedule_without_a_period_is_refused():
    """Each estimate is discounted by the estimates sharing its frames, window / period."""
    with pytest.raises(ValueError, match="reestimate_period_s"):
        OnlineSyncConfig("cam0", reestimate_period_s=0.0)


def test_first_window_is_never_locked():
    first = _run_online(_long_rig(), 1)[0]
    assert first["cam1"].state is SyncState.INITIALIZING and np.isnan(first["cam1"].offset_s)


def test_camera_sharing_nothing_stays_initializing_with_a_reason():
    last = _run_online(_long_rig(disjoint_cameras=(2,)), 3)[-1]
    assert last["cam1"].state is SyncState.LOCKED
    assert last["cam2"].state is SyncState.INITIALIZING and last["cam2"].reason and np.isnan(last["cam2"].offset_s)


def test_static_scene_gives_no_offsets():
    last = _run_online(_long_rig(static=True, num_cameras=2), 2)[-1]
    assert last["cam1"].state is not SyncState.LOCKED and last["cam1"].reason


def test_camera_that_stops_is_lost_with_a_reason():
    history = _run_online(_long_rig(num_cameras=2), 5, stop_camera=1, stop_after=2)
    assert history[1]["cam1"].state is SyncState.LOCKED
    # Frames stop after window 2; the 4 s evidence timeout is over two hops (5 s) later.
    assert history[-1]["cam1"].state is SyncState.LOST
    assert "no new frames" in history[-1]["cam1"].reason and np.isnan(history[-1]["cam1"].offset_s)


def test_offline_recording_gives_offset_and_drift():
    rig = _long_rig(num_cameras=2, drift_ppm=(0.0, 50.0))
    out = estimate_offsets_offline({ts.camera: ts for ts in rig.tracks}, "cam0", OfflineSyncConfig(window_s=7.0, hop_s=7.0))
    est = out["cam1"]
    assert est.state is SyncState.LOCKED
    assert abs(est.offset_s - rig.clocks[1].offset_at(est.t0_s)) < 0.05 / 30
