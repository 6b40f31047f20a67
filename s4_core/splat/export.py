"""Gaussians as plain arrays: snapshot, standard 3DGS .ply, PointCloud2 and marker data.

Pure NumPy; the ROS layer turns these arrays into messages without any maths of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

SH_C0 = 0.28209479177387814  # zeroth spherical-harmonic constant: colour = 0.5 + SH_C0 * f_dc


@dataclass(frozen=True)
class GaussianSnapshot:
    """All Gaussians at one time, world frame.

    Attributes:
        t_s: reference time of the snapshot, seconds.
        means: centres [N, 3] float32, metres.
        quats: unit rotations [N, 4] float32, wxyz.
        scales: standard deviations [N, 3] float32, metres (linear).
        opacities: [N] float32 in (0, 1).
        colours: RGB [N, 3] float32 in [0, 1].
    """

    t_s: float
    means: np.ndarray
    quats: np.ndarray
    scales: np.ndarray
    opacities: np.ndarray
    colours: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.means)
        for name, shape in (("means", (n, 3)), ("quats", (n, 4)), ("scales", (n, 3)), ("opacities", (n,)), ("colours", (n, 3))):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {np.shape(getattr(self, name))}")

    def __len__(self) -> int:
        return len(self.means)


PLY_FIELDS = (
    ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity"]
    + ["scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
)


def ply_vertices(snapshot: GaussianSnapshot) -> np.ndarray:
    """Structured array [N] with the standard 3DGS vertex fields (logit opacity, log scales)."""
    eps = 1e-6
    opacity = np.clip(snapshot.opacities.astype(np.float64), eps, 1 - eps)
    columns = [
        snapshot.means,
        np.zeros_like(snapshot.means),
        (snapshot.colours - 0.5) / SH_C0,
        np.log(opacity / (1 - opacity))[:, None],
        np.log(np.maximum(snapshot.scales, 1e-12)),
        snapshot.quats / np.linalg.norm(snapshot.quats, axis=1, keepdims=True),
    ]
    data = np.concatenate([np.asarray(c, dtype=np.float32) for c in columns], axis=1)
    out = np.empty(len(snapshot), dtype=[(name, "<f4") for name in PLY_FIELDS])
    for i, name in enumerate(PLY_FIELDS):
        out[name] = data[:, i]
    return out


def write_ply(snapshot: GaussianSnapshot, path: Path) -> None:
    """Write a binary little-endian 3DGS .ply (readable by the usual splat viewers)."""
    vertices = ply_vertices(snapshot)
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {len(vertices)}"]
    header += [f"property float {name}" for name in PLY_FIELDS] + ["end_header"]
    with open(path, "wb") as f:
        f.write(("\n".join(header) + "\n").encode("ascii"))
        f.write(vertices.tobytes())


def read_ply(path: Path) -> GaussianSnapshot:
    """Read back a file written by :func:`write_ply` (activations undone); time is unknown (NaN)."""
    raw = Path(path).read_bytes()
    end = raw.index(b"end_header\n") + len(b"end_header\n")
    names = [line.split()[-1] for line in raw[:end].decode("ascii").splitlines() if line.startswith("property")]
    v = np.frombuffer(raw[end:], dtype=[(name, "<f4") for name in names])

    def cols(*fields: str) -> np.ndarray:
        return np.stack([v[name] for name in fields], axis=1)

    return GaussianSnapshot(
        t_s=float("nan"),
        means=cols("x", "y", "z"),
        quats=cols("rot_0", "rot_1", "rot_2", "rot_3"),
        scales=np.exp(cols("scale_0", "scale_1", "scale_2")),
        opacities=(1 / (1 + np.exp(-v["opacity"].astype(np.float64)))).astype(np.float32),
        colours=0.5 + SH_C0 * cols("f_dc_0", "f_dc_1", "f_dc_2"),
    )


POINTCLOUD_FIELDS = ("x", "y", "z", "rgb", "opacity", "scale_x", "scale_y", "scale_z", "rot_w", "rot_x", "rot_y", "rot_z")


def pointcloud_array(snapshot: GaussianSnapshot) -> np.ndarray:
    """Structured float32 array [N] behind a PointCloud2 (``rgb`` packed the PCL way).

    ``rgb`` holds the bytes of uint32 ``0x00RRGGBB`` reinterpreted as float32, which is what
    RViz's RGB8 colour transformer and PCL expect.
    """
    rgb8 = np.clip(np.round(snapshot.colours * 255.0), 0, 255).astype(np.uint32)
    packed = ((rgb8[:, 0] << 16) | (rgb8[:, 1] << 8) | rgb8[:, 2]).view(np.float32)
    out = np.empty(len(snapshot), dtype=[(name, "<f4") for name in POINTCLOUD_FIELDS])
    out["x"], out["y"], out["z"] = snapshot.means.T
    out["rgb"] = packed
    out["opacity"] = snapshot.opacities
    out["scale_x"], out["scale_y"], out["scale_z"] = snapshot.scales.T
    out["rot_w"], out["rot_x"], out["rot_y"], out["rot_z"] = snapshot.quats.T
    return out


@dataclass(frozen=True)
class EllipsoidMarkers:
    """Data for one SPHERE marker per Gaussian.

    Attributes:
        centres: [N, 3] metres.
        orientations_xyzw: principal-axes rotation [N, 4] in ROS (x, y, z, w) order.
        diameters: full axis lengths [N, 3] metres (``2 * sigma_multiple * sqrt(eigenvalue)``).
        rgba: colour and opacity [N, 4] in [0, 1].
    """

    centres: np.ndarray
    orientations_xyzw: np.ndarray
    diameters: np.ndarray
    rgba: np.ndarray


def ellipsoid_markers(snapshot: GaussianSnapshot, sigma_multiple: float = 2.0) -> EllipsoidMarkers:
    """Ellipsoids from each Gaussian's covariance (eigen-decomposed, so any quaternion works)."""
    R = quat_wxyz_to_rotmat(snapshot.quats.astype(np.float64))
    cov = R @ (snapshot.scales.astype(np.float64)[:, :, None] ** 2 * np.swapaxes(R, 1, 2))
    eigenvalues, axes = np.linalg.eigh(cov)
    axes = axes * np.where(np.linalg.det(axes) < 0, -1.0, 1.0)[:, None, None]  # proper rotations
    return EllipsoidMarkers(
        centres=snapshot.means.astype(np.float64),
        orientations_xyzw=Rotation.from_matrix(axes).as_quat(),  # scipy: (x, y, z, w)
        diameters=2.0 * sigma_multiple * np.sqrt(np.maximum(eigenvalues, 0.0)),
        rgba=np.concatenate([snapshot.colours, snapshot.opacities[:, None]], axis=1).astype(np.float64),
    )


def quat_wxyz_to_rotmat(q: np.ndarray) -> np.ndarray:
    """Rotation matrices [N, 3, 3] from quaternions [N, 4] wxyz (normalized here)."""
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=1,
    )
