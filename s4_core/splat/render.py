"""One entry point, :func:`render`, that turns 3D Gaussians into an image on any machine.

Backends: ``"torch"`` (our tile rasterizer, CPU or GPU, autograd through torch ops),
``"reference"`` (brute force, for checks only) and ``"gsplat"`` (CUDA kernels, imported lazily).
``"auto"`` picks gsplat when the Gaussians live on a CUDA device and gsplat imports, else torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from s4_core.camera import PinholeCamera
from s4_core.splat.config import RasterConfig
from s4_core.splat.projection import covariance_from_scales_quats, project_gaussians
from s4_core.splat.rasterize_tiles import composite_tiles
from s4_core.splat.reference import composite_brute_force

Backend = Literal["auto", "torch", "reference", "gsplat"]


@dataclass(frozen=True)
class RenderCamera:
    """A camera as the renderer needs it.

    Attributes:
        viewmat: camera_from_world [4, 4] (optical frame: x right, y down, z forward).
        K: intrinsics [3, 3], pixel centres at integer coordinates.
        width: image width, pixels.
        height: image height, pixels.
    """

    viewmat: Tensor
    K: Tensor
    width: int
    height: int

    def __post_init__(self) -> None:
        _check_shape("viewmat", self.viewmat, (4, 4))
        _check_shape("K", self.K, (3, 3))

    @classmethod
    def from_pinhole(cls, camera: PinholeCamera, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> "RenderCamera":
        """Convert a :class:`PinholeCamera` (same conventions, so only a type change)."""
        return cls(
            viewmat=torch.as_tensor(np.asarray(camera.camera_from_world), dtype=dtype, device=device),
            K=torch.as_tensor(np.asarray(camera.K), dtype=dtype, device=device),
            width=camera.width,
            height=camera.height,
        )


@dataclass(frozen=True)
class RenderOutput:
    """What a render produces.

    Attributes:
        rgb: colour [H, W, C] with the background blended in.
        alpha: accumulated opacity [H, W].
        depth: expected depth [H, W], metres: sum of w_i z_i over sum of w_i (0 where alpha is 0).
        means2d: projected centres [N, 2], pixels; a graph node, so callers can ``retain_grad``
            it for view-space-gradient densification.
        radii: footprint half sides [N] int64, 0 for culled Gaussians.
    """

    rgb: Tensor
    alpha: Tensor
    depth: Tensor
    means2d: Tensor
    radii: Tensor


def render(
    means: Tensor,  # [N, 3] world, metres
    quats: Tensor,  # [N, 4] wxyz, any norm
    scales: Tensor,  # [N, 3] linear standard deviations, metres
    opacities: Tensor,  # [N] in [0, 1]
    colors: Tensor,  # [N, C] (C = 3 for RGB in [0, 1])
    camera: RenderCamera | PinholeCamera,
    background: Tensor | None = None,  # [C]
    config: RasterConfig = RasterConfig(),
    backend: Backend = "auto",
) -> RenderOutput:
    """Render Gaussians with the given backend (see the module docstring for ``"auto"``).

    Linear (not log) scales and opacities in [0, 1] keep the signature the same as
    ``gsplat.rasterization``; models keep log/logit parameters and activate before calling.
    """
    n = means.shape[0]
    _check_shape("means", means, (n, 3))
    _check_shape("quats", quats, (n, 4))
    _check_shape("scales", scales, (n, 3))
    _check_shape("opacities", opacities, (n,))
    if colors.ndim != 2 or colors.shape[0] != n:
        raise ValueError(f"colors must be [N={n}, C], got {tuple(colors.shape)}")
    if isinstance(camera, PinholeCamera):
        camera = RenderCamera.from_pinhole(camera, dtype=means.dtype, device=means.device)
    if background is None:
        background = colors.new_zeros(colors.shape[1])
    chosen = resolve_backend(backend, means.device)
    if chosen == "gsplat":
        from s4_core.splat.gsplat_backend import render_gsplat

        return render_gsplat(means, quats, scales, opacities, colors, camera, background, config)
    return _render_torch(means, quats, scales, opacities, colors, camera, background, config, chosen)


def resolve_backend(backend: Backend, device: torch.device) -> str:
    """The backend to run: what ``"auto"`` stands for on this device, or the one asked for."""
    if backend not in ("auto", "torch", "reference", "gsplat"):
        raise ValueError(f"unknown backend {backend!r}")
    if backend == "gsplat" and not (device.type == "cuda" and gsplat_available()):
        raise RuntimeError("backend 'gsplat' needs the gsplat package and Gaussians on a CUDA device")
    if backend != "auto":
        return backend
    if device.type == "cuda" and gsplat_available():
        return "gsplat"
    return "torch"


def gsplat_available() -> bool:
    """Whether gsplat imports and CUDA is usable (gsplat has no CPU path at all)."""
    if not torch.cuda.is_available():
        return False
    try:
        import gsplat  # noqa: F401
    except ImportError:
        return False
    return True


def _render_torch(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    colors: Tensor,
    camera: RenderCamera,
    background: Tensor,
    config: RasterConfig,
    backend: str,
) -> RenderOutput:
    covariances = covariance_from_scales_quats(scales, quats)
    projected = project_gaussians(means, covariances, camera.viewmat, camera.K, camera.width, camera.height, config)
    features = torch.cat([colors, projected.depths[:, None]], dim=-1)
    composite = composite_tiles if backend == "torch" else composite_brute_force
    accumulated, alpha = composite(projected, opacities, features, camera.width, camera.height, config)
    rgb = accumulated[..., :-1] + (1 - alpha)[..., None] * background
    depth = accumulated[..., -1] / torch.clamp(alpha, min=1e-10)
    return RenderOutput(rgb=rgb, alpha=alpha, depth=depth, means2d=projected.means2d, radii=projected.radii)


def _check_shape(name: str, x: Tensor, shape: tuple[int, ...]) -> None:
    if tuple(x.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(x.shape)}")
