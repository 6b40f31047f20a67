"""Known-answer tests of the FGW track matcher."""

import numpy as np
import pytest
from test_sync_scene import ToyRigConfig, make_toy_rig

from s4_core.matching import FgwMatchConfig, confident_mutual_matches, farthest_point_subsample, match_tracks_fgw


def _precision(rig, i, j, corr) -> float:
    gt = rig.gt_match(i, j)
    return float(np.mean([gt.get(int(a)) == int(b) for a, b in zip(corr.ids_a, corr.ids_b)]))


def test_mutual_matches_read_a_permutation_off_its_plan():
    perm = np.random.default_rng(0).permutation(6)
    plan = np.eye(6)[perm] / 6
    rows, cols, weight = confident_mutual_matches(plan, 0.5)
    assert np.array_equal(cols[np.argsort(rows)], perm)
    assert np.allclose(weight, 1.0)


def test_mutual_matches_drop_a_row_split_between_two_columns():
    plan = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    rows, cols, _ = confident_mutual_matches(plan, 0.6)
    assert rows.tolist() == [1] and cols.tolist() == [2]


def test_permuted_track_set_matches_to_its_permutation():
    rig = make_toy_rig(ToyRigConfig(num_cameras=1, visible_fraction=1.0, seed=1))
    a = rig.tracks[0]
    perm = np.random.default_rng(2).permutation(a.num_tracks)
    b = a.select(perm)
    corr = match_tracks_fgw(a, b)
    assert len(corr) >= 0.9 * a.num_tracks
    assert np.array_equal(corr.ids_a, corr.ids_b)  # same ids in a permuted order: identity on ids


@pytest.mark.parametrize("shared_world", [False, True])
def test_3d_matches_between_differently_framed_cameras_are_precise(shared_world):
    rig = make_toy_rig(ToyRigConfig(num_cameras=2, shared_world=shared_world, seed=4))
    corr = match_tracks_fgw(rig.tracks[0], rig.tracks[1])
    assert _precision(rig, 0, 1, corr) >= 0.95
    assert len(corr) >= 0.6 * len(rig.gt_match(0, 1))


def test_cameras_with_nothing_in_common_give_few_matches():
    rig = make_toy_rig(ToyRigConfig(num_cameras=2, disjoint_cameras=(1,), seed=5))
    corr = match_tracks_fgw(rig.tracks[0], rig.tracks[1])
    assert len(corr) < 10


def test_farthest_point_subsample_covers_separated_clusters():
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(0, 0.01, (200, 3)), rng.normal(5, 0.01, (5, 3))])
    idx = farthest_point_subsample(pts, np.ones(len(pts)), 10)
    assert len(idx) == 10 and np.any(idx >= 200) and np.any(idx < 200)


def test_subsampling_bounds_the_matched_set():
    rig = make_toy_rig(ToyRigConfig(num_cameras=2, seed=6))
    corr = match_tracks_fgw(rig.tracks[0], rig.tracks[1], FgwMatchConfig(max_tracks=40))
    # Each side is subsampled independently, so only part of the 40 overlap; those must be right.
    assert 0 < len(corr) <= 40 and _precision(rig, 0, 1, corr) >= 0.75


def test_partial_chamfer_matches_a_brute_force_loop_in_3d_and_along_epipolar_lines():
    """The all-pairs sample distances (a matrix product in 3D) against one pair at a time."""
    from s4_core.matching.epipolar import sampson_distance_px
    from s4_core.matching.track_paths import epipolar_sample_distance, euclidean_sample_distance, partial_chamfer

    rng = np.random.default_rng(7)
    a, b = rng.normal(2.0, 0.5, (40, 6, 3)), rng.normal(2.0, 0.5, (35, 9, 3))
    b[3, :6] = a[5] + 0.001  # part of B's path 3 lies on A's path 5: the smaller direction sees it
    F = rng.normal(size=(3, 3))

    def brute(x, y, distance):
        out = np.empty((len(x), len(y)))
        for i, j in np.ndindex(out.shape):
            d = np.array([[distance(p, q) for q in y[j]] for p in x[i]])
            out[i, j] = min(np.median(d.min(axis=1)), np.median(d.min(axis=0)))
        return out

    euclid = partial_chamfer(a, b, euclidean_sample_distance)
    np.testing.assert_allclose(euclid, brute(a, b, lambda p, q: np.linalg.norm(p - q)), rtol=1e-9, atol=1e-9)
    assert euclid[5, 3] == pytest.approx(0.001 * np.sqrt(3), rel=1e-6)
    epipolar = partial_chamfer(a[..., :2], b[..., :2], epipolar_sample_distance(F))
    np.testing.assert_allclose(epipolar, brute(a[..., :2], b[..., :2], lambda p, q: abs(sampson_distance_px(F, p, q))), rtol=1e-9)


def test_time_aligned_distance_matches_a_brute_force_loop():
    """Same points seen by two clocks: partners are ~0 apart, the rest at their separation."""
    from s4_core.matching.aligned_distance import time_aligned_distance
    from s4_core.tracks import TrackSet

    rng = np.random.default_rng(4)
    T, N, offset_s = 40, 12, 0.0123
    home = rng.uniform(-2, 2, (N, 3))
    velocity = rng.normal(0, 0.5, (N, 3))

    def tracks(name: str, stamps_s: np.ndarray, capture_s: np.ndarray, hidden: float) -> TrackSet:
        xyz = (home[None] + velocity[None] * capture_s[:, None, None]).astype(np.float32)
        visible = rng.random((T, N)) >= hidden
        return TrackSet(name, np.arange(N), np.round(stamps_s * 1e9).astype(np.int64), np.zeros((T, N, 2), np.float32),
                        visible, xyz, np.zeros((N, 1), np.float32), np.ones((T, N), np.float32), "world")  # fmt: skip

    stamps_a = 10.0 + np.arange(T) / 30.0
    stamps_b = 10.0 + np.arange(T) / 25.0
    a = tracks("a", stamps_a, stamps_a, 0.2)
    b = tracks("b", stamps_b, stamps_b - offset_s, 0.2)
    index_a, index_b = np.arange(N), rng.permutation(N)
    got = time_aligned_distance(a, index_a, b, index_b, offset_s, num_instants=T, min_common=3)

    expected = np.full((N, N), np.inf)
    for i, ia in enumerate(index_a):
        for j, jb in enumerate(index_b):
            d = []
            for k in range(T):
                t_b = stamps_a[k] + offset_s
                m = np.searchsorted(stamps_b, t_b, side="right") - 1
                if not (0 <= m < T - 1 and a.visible[k, ia] and b.visible[m, jb] and b.visible[m + 1, jb]):
                    continue
                w = (t_b - stamps_b[m]) / (stamps_b[m + 1] - stamps_b[m])
                x_b = (1 - w) * b.xyz[m, jb].astype(float) + w * b.xyz[m + 1, jb]
                d.append(np.linalg.norm(a.xyz[k, ia] - x_b))
            if len(d) >= 3:
                expected[i, j] = np.median(d)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    partners = index_b[None, :] == index_a[:, None]
    assert np.all(got[partners] < 1e-5)  # linear motion: interpolation is exact
    assert np.all(got[~partners] > 0.05)


def test_image_motion_is_the_rms_radius_of_the_selected_visible_pixels():
    from s4_core.matching.track_geometry import image_motion_px
    from s4_core.tracks import TrackSet

    rng = np.random.default_rng(6)
    T, N = 30, 9
    uv = (rng.uniform(0, 320, (1, N, 2)) + rng.normal(0, 3, (T, N, 2))).astype(np.float32)
    visible = rng.random((T, N)) > 0.3
    visible[:, -1] = False
    visible[3, -1] = True  # seen once: no motion to measure
    uv[~visible] = np.nan
    tracks = TrackSet("a", np.arange(N), np.arange(T, dtype=np.int64) * 33_000_000, uv, visible, None,
                      np.zeros((N, 1), np.float32), np.ones((T, N), np.float32))  # fmt: skip
    mask = np.arange(T) % 4 != 0
    got = image_motion_px(tracks, mask)
    for n in range(N - 1):
        p = uv[visible[:, n] & mask, n].astype(float)
        assert got[n] == pytest.approx(np.sqrt(np.mean(np.sum((p - p.mean(axis=0)) ** 2, axis=1))), rel=1e-9)
    assert got[-1] == 0.0


def test_with_a_known_offset_every_track_seen_by_both_cameras_is_matched():
    """Most tracks of each camera have no counterpart (other faces of the scene): with the
    offset known they are gated out, instead of taking the plan's mass from the few that do."""
    from s4_core.tracks import TrackSet

    rng = np.random.default_rng(8)
    T, offset_s, shared = 60, 0.4, 8
    t_a = 5.0 + np.arange(T) / 30.0
    t_b = 5.0 + offset_s + np.arange(T) / 30.0 - 0.011  # B's clock, a sub-frame phase off A's frames

    def moving_points(n: int, capture_s: np.ndarray, seed: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        centre, radius, rate = r.uniform(-3, 3, (n, 3)), r.uniform(0.2, 0.6, (n, 1)), r.uniform(1, 3, (n, 1))
        phase = rate.T * capture_s[:, None]  # [T, n]
        return centre[None] + radius.T[..., None] * np.stack([np.cos(phase), np.sin(phase), 0 * phase], axis=-1)

    def tracks(name: str, stamps_s: np.ndarray, xyz: np.ndarray, ids: np.ndarray) -> TrackSet:
        n = xyz.shape[1]
        uv = np.cumsum(rng.normal(0, 3, (T, n, 2)), axis=0).astype(np.float32) + 100  # moving in the image
        return TrackSet(name, ids, np.round(stamps_s * 1e9).astype(np.int64), uv, np.ones((T, n), bool),
                        xyz.astype(np.float32), rng.normal(0, 1, (n, 10)).astype(np.float32),
                        np.ones((T, n), np.float32), "world")  # fmt: skip

    common_a, only_a = moving_points(shared, t_a, 1), moving_points(30, t_a, 2)
    common_b, only_b = moving_points(shared, t_b - offset_s, 1), moving_points(30, t_b - offset_s, 3)
    a = tracks("a", t_a, np.concatenate([common_a, only_a], axis=1), np.arange(shared + 30))
    b = tracks("b", t_b, np.concatenate([only_b, common_b], axis=1), 100 + np.arange(30 + shared))
    corr = match_tracks_fgw(a, b, offset_hint_s=offset_s)
    assert sorted(zip(corr.ids_a.tolist(), corr.ids_b.tolist())) == [(k, 130 + k) for k in range(shared)]


def _wheel(name: str, stamps_s: np.ndarray, capture_s: np.ndarray, phases: np.ndarray, seen: np.ndarray):
    """Points at ``phases`` on a 0.5-m wheel speeding up (a quarter turn per second at first,
    then faster: no period to alias the offset), seen at ``seen`` [T, N]."""
    from s4_core.tracks import TrackSet

    turns = capture_s / 4.0 + capture_s**2 / 40.0
    angle = 2 * np.pi * turns[:, None] + phases[None, :]
    xyz = np.stack([0.5 * np.cos(angle), 0.5 * np.sin(angle), np.full_like(angle, 3.0)], axis=-1).astype(np.float32)
    T, N = seen.shape
    return TrackSet(name, np.arange(N), np.round(stamps_s * 1e9).astype(np.int64), np.zeros((T, N, 2), np.float32),
                    seen, xyz, np.zeros((N, 1), np.float32), np.ones((T, N), np.float32), "world")  # fmt: skip


def test_the_consensus_offset_flags_same_path_neighbours_and_leaves_unseen_matches_open():
    """On a turning wheel every point follows the same circle, so before the offset is known a
    match to a neighbour on it looks right at *some* offset; only at the one offset most
    matches share is it seen to be wrong. A match whose cameras never see its point at common
    instants (A sees it early, B late, the offset moves them apart) has no evidence (NaN). A
    point A sees for one second of eight is compared at instants A sees it, so it has."""
    from s4_core.matching.aligned_distance import share_at_consensus_offset

    N, offset_s = 17, 1.3
    phases = np.linspace(0, 2 * np.pi, N, endpoint=False)
    stamps_a, stamps_b = np.arange(240) / 30.0, np.arange(200) / 25.0
    seen_a, seen_b = np.ones((240, N), bool), np.ones((200, N), bool)
    seen_a[120:, 15], seen_b[:140, 15] = False, False  # point 15 is seen by A at 0-4 s, by B at 4.3-6.7 s
    seen_a[:, 16] = np.arange(240) // 30 == 3  # point 16: A sees it at 3-4 s only
    a = _wheel("a", stamps_a, stamps_a, phases, seen_a)
    b = _wheel("b", stamps_b, stamps_b - offset_s, phases, seen_b)
    index_a = np.arange(N)
    index_b = index_a.copy()
    index_b[[2, 7, 11]] = [3, 9, 12]  # same circle, other phase: each right at some other offset for a while
    share = share_at_consensus_offset(a, index_a, b, index_b, tolerance=0.06, min_support=4)
    assert np.isnan(share).tolist() == [i == 15 for i in range(N)]
    assert (share >= 0.5).tolist() == [i not in (2, 7, 11, 15) for i in range(N)]
    # Too few matches agree on any offset to call a consensus.
    assert share_at_consensus_offset(a, index_a, b, index_b, tolerance=0.06, min_support=N) is None


def test_in_one_world_frame_moving_points_seen_over_different_intervals_stay_matched():
    """Ground-truth tracks of the synthetic world, several seconds apart in clock: the moving
    points' time means differ between the cameras (each averages its own interval), which
    once dropped most right matches; the offset they agree on keeps them."""
    from s4_core.bench.sync_bench import _gt_trackset, _match_precision, _point_pool
    from s4_core.synth import SynthConfig, SyntheticWorld

    world = SyntheticWorld(SynthConfig(num_cameras=4, duration_s=10.0, seed=1))
    pool = _point_pool(world, (10, 8))
    (a, points_a), (b, points_b) = _gt_trackset(world, 0, pool, 1), _gt_trackset(world, 1, pool, 1)
    corr = match_tracks_fgw(a, b)
    assert len(corr) >= 15
    assert _match_precision(corr, a, b, points_a, points_b) >= 0.95


def test_calibrated_pixels_keep_the_matches_that_agree_at_common_instants():
    """RGB-only with calibration: before the offset is known, time-mean pixels of moving points
    are only roughly epipolar, and the balanced plan pairs most tracks with something; checked
    at the offset most matches agree on, at common instants, the wrong pairs show."""
    import itertools

    from s4_core.bench.sync_bench import _gt_trackset, _match_precision, _point_pool, _without_xyz
    from s4_core.synth import SynthConfig, SyntheticWorld

    world = SyntheticWorld(SynthConfig(num_cameras=4, duration_s=10.0, seed=3))
    pool = _point_pool(world, (10, 8))
    tracks, points = zip(*[_gt_trackset(world, i, pool, 3) for i in range(4)])
    pixels = [_without_xyz(t) for t in tracks]
    precision = []
    for i, j in itertools.combinations(range(4), 2):
        corr = match_tracks_fgw(pixels[i], pixels[j], cameras=(world.cameras[i], world.cameras[j]))
        assert len(corr) >= 10
        precision.append(_match_precision(corr, pixels[i], pixels[j], points[i], points[j]))
    assert np.mean(precision) >= 0.85
