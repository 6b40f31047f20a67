"""Known-answer tests of the geometry the tracker and TTA read off pointmaps."""

import numpy as np
import pytest
import torch

from s4_core.st4rtrack.geometry import (
    estimate_focal_from_pointmap,
    frame_poses_from_reconstruction,
    intrinsics_matrix,
    project_points,
    se3_exp,
    solve_camera_from_points,
    transform_points,
    umeyama_similarity,
)
from s4_core.st4rtrack.preprocess import images_to_input, plan_input_crop
from s4_core.st4rtrack.track_features import anchor_query_grid, stitch_track_ids


def _pointmap(focal: float, width: int, height: int, depth: torch.Tensor) -> torch.Tensor:
    vs, us = torch.meshgrid(torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64), indexing="ij")
    x = (us - (width - 1) / 2) / focal * depth
    y = (vs - (height - 1) / 2) / focal * depth
    return torch.stack((x, y, depth), dim=-1)


def test_focal_from_pointmap_recovers_the_generating_focal():
    width, height = 64, 48
    depth = 2.0 + torch.rand(height, width, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    points = _pointmap(123.0, width, height, depth)
    points[:5, :5] *= -1  # a few outliers behind the camera / wrong: the robust fit ignores them
    assert estimate_focal_from_pointmap(points, ((width - 1) / 2, (height - 1) / 2)) == pytest.approx(123.0, rel=1e-3)


def test_pnp_recovers_a_known_pose():
    generator = torch.Generator().manual_seed(1)
    points = torch.rand(200, 3, generator=generator, dtype=torch.float64) * torch.tensor([2.0, 1.5, 1.0]) + torch.tensor(
        [-1.0, -0.75, 3.0]
    )
    truth = se3_exp(torch.tensor([0.02, -0.05, 0.01, 0.1, -0.05, 0.2], dtype=torch.float64))
    K = intrinsics_matrix(200.0, (63.5, 47.5))
    pixels, _ = project_points(transform_points(points, truth), K)
    torch.testing.assert_close(solve_camera_from_points(points, pixels, K), truth, atol=1e-6, rtol=0)


def test_poses_from_reconstruction_of_a_static_camera_are_identity():
    depth = torch.full((24, 32), 2.0, dtype=torch.float64)
    recon = _pointmap(40.0, 32, 24, depth).expand(3, -1, -1, -1)
    poses = frame_poses_from_reconstruction(recon, torch.ones(3, 24, 32), intrinsics_matrix(40.0, (15.5, 11.5)))
    torch.testing.assert_close(poses, torch.eye(4, dtype=torch.float64).expand(3, 4, 4), atol=1e-9, rtol=0)


def test_umeyama_recovers_a_similarity():
    source = torch.randn(50, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    truth = se3_exp(torch.tensor([0.3, -0.2, 0.1, 1.0, 2.0, -0.5], dtype=torch.float64))
    truth[:3, :3] *= 2.5
    torch.testing.assert_close(umeyama_similarity(source, transform_points(source, truth)), truth, atol=1e-9, rtol=0)


def test_input_crop_maps_pixels_both_ways_and_keeps_the_projection():
    crop = plan_input_crop((640, 480), (512, 288))  # scale 0.8 -> 512x384, crop 48 rows top and bottom
    assert crop.resized_size_wh == (512, 384) and crop.offset_xy == (0, 48)
    uv = np.array([[0.0, 0.0], [319.5, 239.5], [639.0, 479.0]])
    np.testing.assert_allclose(crop.to_original(crop.to_input(uv)), uv, atol=1e-9)
    np.testing.assert_allclose(crop.to_input(uv[1]), [255.5, 143.5])  # centre stays centre
    K_input = np.array([[400.0, 0, 255.5], [0, 400.0, 143.5], [0, 0, 1]])
    K_original = crop.intrinsics_to_original(K_input)
    point = np.array([0.3, -0.2, 2.0])
    uv_input = (K_input @ point)[:2] / point[2]
    uv_original = (K_original @ point)[:2] / point[2]
    np.testing.assert_allclose(crop.to_original(uv_input), uv_original)


def test_images_to_input_normalizes_and_crops():
    image = np.zeros((480, 640, 3), np.uint8)
    image[:, :, 0] = 255
    tensor = images_to_input(image[None], plan_input_crop((640, 480), (128, 96)))
    assert tensor.shape == (1, 3, 96, 128)
    assert float(tensor[0, 0].min()) == 1.0 and float(tensor[0, 1].max()) == -1.0
    with pytest.raises(ValueError, match="uint8"):
        images_to_input(image[None].astype(np.float32), plan_input_crop((640, 480), (128, 96)))


def test_query_grid_is_row_major_and_centred_in_cells():
    grid = anchor_query_grid((64, 32), 16)
    assert grid.tolist() == [[8, 8], [24, 8], [40, 8], [56, 8], [8, 24], [24, 24], [40, 24], [56, 24]]


def test_stitching_continues_the_nearest_visible_track_once():
    previous_uv = torch.tensor([[10.0, 10.0], [11.0, 10.0], [50.0, 50.0], [float("nan"), 0.0]])
    previous_ids = torch.tensor([7, 8, 9, 10])
    previous_visible = torch.tensor([True, True, False, True])
    new_uv = torch.tensor([[10.5, 10.0], [50.0, 50.0], [11.2, 10.0], [100.0, 0.0]])
    ids = stitch_track_ids(previous_uv, previous_ids, previous_visible, new_uv, radius_px=2.0)
    # 11.2 is nearest to id 8 (0.2 px) and 10.5 to id 7; the invisible id 9 never continues.
    assert ids.tolist() == [7, -1, 8, -1]
