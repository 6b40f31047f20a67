"""Known-answer tests of the synthetic world's geometry and ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from s4_core.synth import SurfacePoints, SynthConfig, SyntheticWorld
from s4_core.synth.motion import BodyPose
from s4_core.synth.primitives import Box, Ellipsoid, RoomInterior

SIZE_WH = (160, 120)


@pytest.fixture(scope="module")
def world() -> SyntheticWorld:
    return SyntheticWorld(SynthConfig(num_cameras=3, duration_s=2.0, seed=7, size_wh=SIZE_WH, noise_std=0.0))


def _random_pixels(rng: np.random.Generator, n: int) -> np.ndarray:
    width, height = SIZE_WH
    return rng.uniform([-0.5, -0.5], [width - 0.5, height - 0.5], (n, 2))


def _body_id(world: SyntheticWorld, name: str) -> int:
    return next(body.object_id for body in world.scene.bodies if body.name == name)


def test_ellipsoid_hits_at_known_distance_with_known_normal():
    shape = Ellipsoid(np.array([1.0, 2.0, 3.0]))
    origin = np.array([0.0, -10.0, 0.0])
    dirs = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 0.0], [0.0, 1.0, 0.4]])
    lam = shape.intersect(origin, dirs)
    np.testing.assert_allclose(lam[:2], [8.0, 4.0])  # the parameter scales with the direction
    assert np.isinf(lam[2])  # climbs too fast: (y/2)^2 + (z/3)^2 stays above 1 (min 1.66)
    np.testing.assert_allclose(shape.normal_at(origin + lam[0] * dirs[0]), [0.0, -1.0, 0.0])
    np.testing.assert_allclose(shape.intersect(np.array([0.0, 0.0, 10.0]), np.array([[0.0, 0.0, -1.0]])), [7.0])


def test_box_slab_test_known_answers():
    shape = Box(np.array([1.0, 2.0, 3.0]))
    origin = np.array([-5.0, 0.5, 0.5])
    # straight on; parallel to the x faces (never enters x slab); leaves the y slab at lam 3 < 4
    dirs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.5, 0.0], [1.0, 0.25, 0.0]])
    lam = shape.intersect(origin, dirs)
    np.testing.assert_allclose(lam[[0, 3]], [4.0, 4.0])
    assert np.isinf(lam[1]) and np.isinf(lam[2])
    np.testing.assert_allclose(shape.normal_at(origin + 4.0 * dirs[3]), [-1.0, 0.0, 0.0])


def test_room_interior_is_hit_from_inside_with_inward_normals():
    room = RoomInterior(np.array([5.0, 4.0, 2.0]))
    dirs = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 1.0, 0.0]])
    lam = room.intersect(np.zeros(3), dirs)
    np.testing.assert_allclose(lam, [5.0, 4.0, 2.0, 4.0])
    normals = room.normal_at(lam[:, None] * dirs)
    np.testing.assert_allclose(normals[:3], [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert np.isinf(room.intersect(np.array([6.0, 0.0, 0.0]), dirs)).all()


def test_deformed_ellipsoid_normals_are_those_of_the_stretched_shape():
    """A rest ellipsoid stretched by s is the ellipsoid with radii r * s: same normals."""
    rest = Ellipsoid(np.array([0.3, 0.2, 0.25]))
    scale = np.array([1.2, 0.8, 1.1])
    rotation = Rotation.from_rotvec([0.3, -0.5, 0.9]).as_matrix()
    pose = BodyPose(rotation, np.array([1.0, 2.0, 0.5]), scale)
    rng = np.random.default_rng(5)
    unit = rng.normal(size=(20, 3))
    rest_points = rest.radii * unit / np.linalg.norm(unit, axis=1, keepdims=True)
    stretched = Ellipsoid(rest.radii * scale)
    expected = stretched.normal_at(rest_points * scale) @ rotation.T
    np.testing.assert_allclose(pose.normal_to_world(rest.normal_at(rest_points)), expected, atol=1e-12)


def test_traced_points_reproject_onto_their_pixels_at_their_depth(world):
    """Sub-pixel rays: the GT 3D point of a pixel projects back onto it, at its hit depth."""
    rng = np.random.default_rng(0)
    t_s = world.t0_s + 0.7
    for i, camera in enumerate(world.cameras):
        uv = _random_pixels(rng, 400)
        points = world.trace_pixels(i, t_s, uv)
        assert points.valid.all()  # inside the room every ray hits something
        reprojected, depth_m = camera.project(world.positions(points, t_s))
        np.testing.assert_allclose(reprojected, uv, atol=1e-9)
        assert np.all(depth_m > 0.5)


def test_rendered_depth_is_the_depth_of_the_gt_point_of_each_pixel(world):
    t_s = world.t0_s + 1.3
    view = world.render(1, t_s)
    height, width = view.depth_m.shape
    assert (width, height) == SIZE_WH and view.rgb.shape == (height, width, 3)
    uv, depth_m = world.cameras[1].project(world.positions(view.surface, t_s))
    v, u = np.mgrid[0:height, 0:width]
    np.testing.assert_allclose(uv[..., 0], u, atol=1e-9)
    np.testing.assert_allclose(uv[..., 1], v, atol=1e-9)
    np.testing.assert_allclose(view.depth_m, depth_m, rtol=1e-6)  # float32 storage
    moving = view.surface.object_id > 0
    assert 0.01 < moving.mean() < 0.9  # objects are in view, the room behind them


def test_gt_tracks_retrace_to_the_same_material_point_where_visible(world):
    """A point traced at one time and moved to another lands on the pixel that sees that point."""
    rng = np.random.default_rng(1)
    anchor_s = world.t0_s + 0.4
    uv = _random_pixels(rng, 3000)
    times_s = anchor_s + np.array([-0.3, 0.0, 0.25, 0.9])
    tracks = world.gt_tracks(0, anchor_s, uv, times_s)
    assert tracks.visible[1].all()
    np.testing.assert_allclose(tracks.uv[1], uv, atol=1e-9)
    moved = np.linalg.norm(tracks.uv[3] - tracks.uv[1], axis=-1)
    on_objects = tracks.points.object_id > 0
    assert np.nanmedian(moved[on_objects]) > 1.0  # the objects really move in the image
    for k, t_s in enumerate(times_s):
        seen = tracks.visible[k]
        retraced = world.trace_pixels(0, t_s, tracks.uv[k][seen])
        assert retraced.same_as(tracks.points[seen], tolerance_m=1e-6).all()
        # hidden but inside the image: something nearer is in the way
        width, height = SIZE_WH
        inside = (np.abs(tracks.uv[k] - [(width - 1) / 2, (height - 1) / 2]) < [width / 2, height / 2]).all(-1)
        hidden = inside & ~seen & (tracks.depth_m[k] > 0)
        if hidden.any():
            blockers = world.trace_pixels(0, t_s, tracks.uv[k][hidden])
            blocker_xyz = world.positions(blockers, t_s)
            _, blocker_depth = world.cameras[0].project(blocker_xyz)
            assert np.all(blocker_depth < tracks.depth_m[k][hidden])
    assert (~tracks.visible[[0, 2, 3]] & on_objects).any()  # occlusion or leaving the view happens


def test_points_traced_in_one_camera_are_found_in_another(world):
    rng = np.random.default_rng(2)
    t_s = world.t0_s + 1.0
    points = world.trace_pixels(0, t_s, _random_pixels(rng, 2000))
    other = world.observe(1, points, np.array([t_s]))
    seen = other.visible[0]
    assert 0.05 < seen.mean() < 1.0  # partial overlap between the views
    assert world.trace_pixels(1, t_s, other.uv[0][seen]).same_as(points[seen], 1e-6).all()


def test_rigid_bodies_keep_shape_deforming_one_does_not(world):
    rng = np.random.default_rng(3)
    local = rng.uniform(-0.2, 0.2, (30, 3))
    times_s = world.t0_s + np.array([0.0, 0.8, 1.6])

    def pairwise_distances(name: str) -> np.ndarray:
        points = SurfacePoints(np.full(30, _body_id(world, name), dtype=np.int32), local)
        xyz = np.stack([world.positions(points, t) for t in times_s])
        return np.linalg.norm(xyz[:, :, None] - xyz[:, None], axis=-1)

    for name in ("sphere", "ellipsoid", "box", "arm_base", "arm_link"):
        d = pairwise_distances(name)
        np.testing.assert_allclose(d[1:], np.broadcast_to(d[0], d[1:].shape), atol=1e-9)
    d = pairwise_distances("deforming_ellipsoid")
    assert np.max(np.abs(d[1:] - d[0])) > 0.01


def test_hinge_joint_stays_connected_while_the_arm_bends(world):
    base, link = _body_id(world, "arm_base"), _body_id(world, "arm_link")
    hinge = world.scene.bodies[link].motion
    angles = []
    for t_s in world.t0_s + np.linspace(0.0, 2.0, 5):
        pivot_from_base = world.positions(SurfacePoints(np.array([base]), hinge.pivot_in_parent[None]), t_s)
        pivot_from_link = world.positions(SurfacePoints(np.array([link]), hinge.pivot_in_child[None]), t_s)
        np.testing.assert_allclose(pivot_from_base, pivot_from_link, atol=1e-12)
        base_pose = world.scene.bodies[base].motion.pose(t_s - world.t0_s)
        link_pose = hinge.pose(t_s - world.t0_s)
        relative = base_pose.rotation.T @ link_pose.rotation
        angles.append(np.arctan2(relative[1, 0], relative[0, 0]))  # rotation about the z hinge axis
    assert np.ptp(angles) > 0.1


def test_world_is_a_pure_function_of_the_seed(world):
    config = world.config
    t_s = world.t0_s + 0.5
    same = SyntheticWorld(config).render(2, t_s)
    np.testing.assert_array_equal(same.rgb, world.render(2, t_s).rgb)
    other = SyntheticWorld(SynthConfig(num_cameras=3, duration_s=2.0, seed=8, size_wh=SIZE_WH)).render(2, t_s)
    assert np.mean(other.rgb != same.rgb) > 0.5


def test_cameras_differ_in_exposure_and_white_balance(world):
    gains = [r.gain for r in world.responses]
    balances = np.stack([r.white_balance for r in world.responses])
    assert np.ptp(gains) > 0.01 and np.ptp(balances[:, 0]) > 0.01
    np.testing.assert_array_equal(balances[:, 1], 1.0)


def test_gt_tracks_convert_to_a_track_set(world):
    rng = np.random.default_rng(4)
    times = world.frame_times(0)
    tracks = world.gt_tracks(0, float(times.capture_s[0]), _random_pixels(rng, 50), times.capture_s[:6])
    track_set = tracks.to_track_set(times.stamp_ns[:6])
    assert track_set.num_frames == 6 and track_set.num_tracks == 50 and track_set.has_3d
    np.testing.assert_array_equal(track_set.visible, tracks.visible)
    assert np.isnan(track_set.uv[~tracks.visible]).all()


def test_public_entry_points_check_shapes(world):
    with pytest.raises(ValueError, match="uv must be"):
        world.trace_pixels(0, world.t0_s, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="points must be"):
        world.observe(0, world.render(0, world.t0_s).surface, np.array([world.t0_s]))


def test_frames_in_capture_order_interleave_every_camera_by_capture_time():
    world = SyntheticWorld(SynthConfig(num_cameras=3, duration_s=0.3, size_wh=(16, 12), offsets_s=(0.0, 0.5, -0.2)))
    merged = list(world.frames_in_capture_order())
    captures = [capture for capture, _, _ in merged]
    assert captures == sorted(captures)
    for i, camera in enumerate(world.cameras):
        stamps = [frame.stamp_ns for capture, j, frame in merged if j == i]
        assert stamps == world.frame_times(i).stamp_ns.tolist()  # every frame, in its camera's order
        assert all(frame.camera == camera.name for _, j, frame in merged if j == i)
    assert len({i for _, i, _ in merged[:6]}) > 1  # interleaved, not camera after camera
