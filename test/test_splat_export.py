"""Export: .ply round trip and header, PointCloud2 fields, ellipsoid markers, no ROS import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from s4_core.splat.export import GaussianSnapshot, ellipsoid_markers, pointcloud_array, read_ply, write_ply


def _snapshot(n: int = 7) -> GaussianSnapshot:
    rng = np.random.default_rng(0)
    quats = rng.normal(size=(n, 4)).astype(np.float32)
    return GaussianSnapshot(
        t_s=1.5,
        means=rng.normal(size=(n, 3)).astype(np.float32),
        quats=quats / np.linalg.norm(quats, axis=1, keepdims=True),
        scales=rng.uniform(0.01, 0.2, (n, 3)).astype(np.float32),
        opacities=rng.uniform(0.05, 0.95, n).astype(np.float32),
        colours=rng.uniform(0, 1, (n, 3)).astype(np.float32),
    )


def test_ply_has_standard_header_and_round_trips(tmp_path: Path) -> None:
    s = _snapshot()
    path = tmp_path / "splats.ply"
    write_ply(s, path)
    header = path.read_bytes().split(b"end_header\n")[0].decode()
    assert "format binary_little_endian 1.0" in header and "element vertex 7" in header
    names = [line.split()[-1] for line in header.splitlines() if line.startswith("property float")]
    assert names == ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity"] + [
        "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"
    ]  # fmt: skip
    assert path.stat().st_size == len(header) + len("end_header\n") + 7 * 17 * 4
    back = read_ply(path)
    for name in ("means", "quats", "scales", "opacities", "colours"):
        np.testing.assert_allclose(getattr(back, name), getattr(s, name), rtol=1e-5, atol=1e-6)


def test_pointcloud_array_fields_and_packed_rgb() -> None:
    s = _snapshot()
    s = GaussianSnapshot(s.t_s, s.means, s.quats, s.scales, s.opacities, np.tile([[1.0, 0.5, 0.0]], (7, 1)).astype(np.float32))
    cloud = pointcloud_array(s)
    assert cloud.dtype.names == ("x", "y", "z", "rgb", "opacity", "scale_x", "scale_y", "scale_z", "rot_w", "rot_x", "rot_y", "rot_z")
    assert cloud.dtype.itemsize == 12 * 4
    assert cloud["rgb"].view(np.uint32)[0] == (255 << 16) | (128 << 8) | 0
    np.testing.assert_array_equal(cloud["z"], s.means[:, 2])


def test_ellipsoid_markers_recover_axes_and_orientation() -> None:
    rotation = Rotation.from_euler("xyz", [0.3, -0.2, 0.9])
    x, y, z, w = rotation.as_quat()
    s = GaussianSnapshot(
        t_s=0.0, means=np.zeros((1, 3), np.float32), quats=np.array([[w, x, y, z]], np.float32),
        scales=np.array([[0.1, 0.2, 0.4]], np.float32), opacities=np.array([0.5], np.float32),
        colours=np.array([[0.1, 0.2, 0.3]], np.float32),
    )  # fmt: skip
    markers = ellipsoid_markers(s, sigma_multiple=2.0)
    np.testing.assert_allclose(markers.diameters[0], [0.4, 0.8, 1.6], rtol=1e-5)
    marker_rotation = Rotation.from_quat(markers.orientations_xyzw[0]).as_matrix()
    cov_from_marker = marker_rotation @ np.diag((markers.diameters[0] / 4) ** 2) @ marker_rotation.T
    cov_true = rotation.as_matrix() @ np.diag([0.01, 0.04, 0.16]) @ rotation.as_matrix().T
    np.testing.assert_allclose(cov_from_marker, cov_true, atol=1e-6)
    np.testing.assert_allclose(markers.rgba[0], [0.1, 0.2, 0.3, 0.5], rtol=1e-6)


def test_snapshot_rejects_bad_shapes() -> None:
    s = _snapshot()
    with pytest.raises(ValueError):
        GaussianSnapshot(0.0, s.means, s.quats[:, :3], s.scales, s.opacities, s.colours)


def test_splat_package_does_not_import_ros() -> None:
    code = "import sys, s4_core.splat; assert not any(m.startswith('rclpy') for m in sys.modules); assert 'gsplat' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
