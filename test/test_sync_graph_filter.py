"""Known-answer tests of the pair-graph solve and the per-camera lock filter."""

import numpy as np

from s4_core.offsets import SyncState
from s4_core.sync import ClockFilterConfig, ClockOffsetFilter, OffsetMeasurement, PairOffset, solve_offsets_on_pair_graph


def _pair(a, b, d, sd=1e-4, ok=True):
    return PairOffset(a, b, d, sd, 0.0, 1 / 30, 50, ok, "" if ok else "no matches")


TRUE = {"c0": 0.0, "c1": 0.037, "c2": -1.2, "c3": 2.4}


def test_graph_recovers_offsets_and_rejects_an_inconsistent_pair():
    names = list(TRUE)
    pairs = [_pair(a, b, TRUE[b] - TRUE[a]) for i, a in enumerate(names) for b in names[i + 1:]]
    pairs[1] = _pair("c0", "c2", TRUE["c2"] + 0.1)  # one wrong pair: breaks its cycles
    out = solve_offsets_on_pair_graph(names, "c0", pairs)
    for c, v in TRUE.items():
        assert out[c].resolved and abs(out[c].offset_s - v) < 1e-6
        assert 0 <= out[c].stddev_s < 1.2e-4  # pair stddev 1e-4 with the 5e-5 floor in quadrature


def test_graph_leaves_an_unconnected_camera_unresolved_with_a_reason():
    pairs = [_pair("c0", "c1", 0.037), _pair("c0", "c2", 0.0, ok=False), _pair("c1", "c2", 0.0, ok=False)]
    out = solve_offsets_on_pair_graph(["c0", "c1", "c2"], "c0", pairs)
    assert out["c1"].resolved and abs(out["c1"].offset_s - 0.037) < 1e-9
    assert not out["c2"].resolved and "no matches" in out["c2"].reason and np.isnan(out["c2"].offset_s)


def test_cameras_timed_only_against_each_other_are_unresolved_for_that_reason():
    pairs = [_pair("c0", "c1", 0.037), _pair("c0", "c2", 0.0, ok=False), _pair("c2", "c3", 0.5)]
    out = solve_offsets_on_pair_graph(["c0", "c1", "c2", "c3"], "c0", pairs)
    assert out["c1"].resolved
    for c in ("c2", "c3"):
        assert not out[c].resolved and out[c].reason == "its usable pairs do not link it to the reference c0"


def test_a_camera_whose_only_pair_contradicts_the_graph_says_so():
    pairs = [_pair("c0", "c1", 0.037), _pair("c1", "c2", 0.5), _pair("c0", "c2", 0.537),
             _pair("c0", "c3", 1.0), _pair("c1", "c3", 2.0)]  # c3's two pairs disagree by a second
    out = solve_offsets_on_pair_graph(["c0", "c1", "c2", "c3"], "c0", pairs)
    assert all(out[c].resolved for c in ("c1", "c2"))
    assert not out["c3"].resolved and out["c3"].reason == "its pairs are inconsistent with the camera graph"


def test_filter_locks_tracks_drift_then_loses_and_reacquires_after_a_clock_jump():
    f = ClockOffsetFilter("c1", ClockFilterConfig())
    drift = 30e-6
    for k in range(10):
        t = 2.0 * k
        f.update(OffsetMeasurement(t, 0.5 + drift * t, 1e-4))
    est = f.offset(18.0)
    assert est.state is SyncState.LOCKED and abs(est.offset_s - (0.5 + drift * 18)) < 1e-4
    assert abs(est.drift_ppm - 30.0) < 10.0
    assert f.update(OffsetMeasurement(20.0, 0.9, 1e-4)) is SyncState.LOCKED  # one outlier is tolerated
    assert f.update(OffsetMeasurement(22.0, 0.9, 1e-4)) is SyncState.LOST
    lost = f.offset()
    assert "jump" in lost.reason and np.isnan(lost.offset_s)
    f.update(OffsetMeasurement(24.0, 0.9, 1e-4))
    assert f.state is SyncState.LOCKED and abs(f.offset().offset_s - 0.9) < 1e-3


def test_filter_needs_consistent_evidence_and_loses_a_silent_camera():
    f = ClockOffsetFilter("c1", ClockFilterConfig(evidence_timeout_s=5.0))
    f.update(OffsetMeasurement(0.0, 0.2, 1e-4))
    assert f.state is SyncState.INITIALIZING
    f.update(OffsetMeasurement(2.0, 0.6, 1e-4))  # disagrees: still no lock
    assert f.state is SyncState.INITIALIZING and f.offset().reason
    f.update(OffsetMeasurement(4.0, 0.6, 1e-4))
    assert f.state is SyncState.LOCKED
    assert f.no_evidence(6.0, "no new frames") is SyncState.LOCKED
    assert f.no_evidence(12.0, "no new frames") is SyncState.LOST
    assert "no new frames" in f.offset().reason


def test_a_lock_is_settled_only_while_its_latest_measurement_agrees():
    f = ClockOffsetFilter("c1", ClockFilterConfig())
    k = 0
    while f.state is not SyncState.LOCKED:
        assert not f.settled
        f.update(OffsetMeasurement(2.0 * k, 0.5, 1e-4))
        k += 1
    assert not f.settled  # just locked: not yet confirmed
    f.update(OffsetMeasurement(6.0, 0.5, 1e-4))
    assert f.settled
    f.update(OffsetMeasurement(8.0, 0.9, 1e-4))  # gated out, the lock holds
    assert f.state is SyncState.LOCKED and not f.settled
    f.update(OffsetMeasurement(10.0, 0.5, 1e-4))
    assert f.settled
    f.no_evidence(12.0, "weak motion")
    assert f.state is SyncState.LOCKED and not f.settled


def test_a_group_timed_only_against_itself_stays_unresolved_without_breaking_the_solve():
    # cam1 and cam2 agree with each other but nothing ties them to the reference: their
    # offsets are undetermined, while cam3 (timed against cam0) is still solved.
    pairs = [_pair("cam1", "cam2", 0.25, 0.001), _pair("cam0", "cam3", -0.4, 0.001)]
    solved = solve_offsets_on_pair_graph(["cam0", "cam1", "cam2", "cam3"], "cam0", pairs)
    assert solved["cam3"].resolved and abs(solved["cam3"].offset_s + 0.4) < 1e-9
    assert not solved["cam1"].resolved and not solved["cam2"].resolved
    assert solved["cam1"].reason and solved["cam2"].reason
