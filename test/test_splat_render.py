"""Renderer: known answers, tiled vs brute-force compositor, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from s4_core.camera import PinholeCamera
from s4_core.splat.config import RasterConfig
from s4_core.splat.rasterize_tiles import PAD_RATIO, _chunk_busy_tiles
from s4_core.splat.render import RenderCamera, gsplat_available, render

torch.set_num_threads(1)  # tiny tensors: threads only add contention

W, H = 32, 24
FOCAL = 50.0


def _camera(dtype: torch.dtype = torch.float64) -> RenderCamera:
    K = torch.tensor([[FOCAL, 0.0, 16.0], [0.0, FOCAL, 12.0], [0.0, 0.0, 1.0]], dtype=dtype)
    return RenderCamera(viewmat=torch.eye(4, dtype=dtype), K=K, width=W, height=H)


def _random_scene(n: int, seed: int, dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    z = 1.5 + 2.0 * torch.rand(n, generator=g, dtype=dtype)
    xy = (torch.rand(n, 2, generator=g, dtype=dtype) - 0.5) * torch.tensor([0.7, 0.5], dtype=dtype) * z[:, None]
    return {
        "means": torch.cat([xy, z[:, None]], dim=1),
        "quats": torch.randn(n, 4, generator=g, dtype=dtype),
        "scales": 0.02 + 0.08 * torch.rand(n, 3, generator=g, dtype=dtype),
        "opacities": 0.2 + 0.75 * torch.rand(n, generator=g, dtype=dtype),
        "colors": torch.rand(n, 3, generator=g, dtype=dtype),
    }


def test_single_isotropic_gaussian_has_analytic_footprint() -> None:
    x_m, z_m, s_m, opacity = 0.1, 2.0, 0.1, 0.5
    out = render(
        means=torch.tensor([[x_m, 0.0, z_m]], dtype=torch.float64),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64),
        scales=torch.full((1, 3), s_m, dtype=torch.float64),
        opacities=torch.tensor([opacity], dtype=torch.float64),
        colors=torch.ones(1, 3, dtype=torch.float64),
        camera=_camera(),
        backend="torch",
    )
    u0, v0 = 16.0 + FOCAL * x_m / z_m, 12.0
    peak = np.unravel_index(int(torch.argmax(out.alpha)), (H, W))
    assert peak == (int(v0), int(u0))
    # EWA: J J^T s^2 for an isotropic Gaussian, plus the 0.3 px^2 dilation.
    var_u = (FOCAL * s_m / z_m) ** 2 * (1 + (x_m / z_m) ** 2) + 0.3
    var_v = (FOCAL * s_m / z_m) ** 2 + 0.3
    v, u = np.mgrid[0:H, 0:W].astype(float)
    expected = opacity * np.exp(-0.5 * ((u - u0) ** 2 / var_u + (v - v0) ** 2 / var_v))
    inside = ((u - u0) ** 2 / var_u + (v - v0) ** 2 / var_v <= 9.0) & (expected >= 1 / 255)
    expected = np.where(inside, expected, 0.0)
    np.testing.assert_allclose(out.alpha.numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(out.rgb[..., 0].numpy(), expected, atol=1e-12)
    assert torch.allclose(out.depth[out.alpha > 0], torch.tensor(z_m, dtype=torch.float64))


def test_pinhole_camera_and_render_camera_agree() -> None:
    scene = _random_scene(10, seed=1)
    pin = PinholeCamera("c", W, H, _camera().K.numpy(), world_from_camera=np.eye(4))
    a = render(**scene, camera=pin)
    b = render(**scene, camera=_camera())
    assert torch.equal(a.rgb, b.rgb)


def test_points_behind_near_plane_are_culled() -> None:
    scene = _random_scene(5, seed=2)
    scene["means"] = scene["means"] * torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    out = render(**scene, camera=_camera(), background=torch.tensor([0.2, 0.3, 0.4], dtype=torch.float64))
    assert torch.all(out.radii == 0)
    assert torch.all(out.alpha == 0)
    assert torch.allclose(out.rgb, torch.tensor([0.2, 0.3, 0.4], dtype=torch.float64).expand(H, W, 3))


@pytest.mark.parametrize("chunk_elements", [2000, RasterConfig().chunk_elements])  # budget-cut and length-cut chunks
@pytest.mark.parametrize("tile_size", [4, 8, 16])
def test_tiled_matches_brute_force_in_values_and_gradients(tile_size: int, chunk_elements: int) -> None:
    config = RasterConfig(tile_size=tile_size, chunk_elements=chunk_elements)
    scene = _random_scene(40, seed=3)
    background = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    weights = torch.rand(H, W, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    results = {}
    for backend in ("torch", "reference"):
        leaves = {k: v.clone().requires_grad_(True) for k, v in scene.items()}
        out = render(**leaves, camera=_camera(), background=background, config=config, backend=backend)
        image = torch.cat([out.rgb, out.alpha[..., None], (out.depth * out.alpha)[..., None]], dim=-1)
        (image * weights).sum().backward()
        results[backend] = (image.detach(), {k: v.grad for k, v in leaves.items()})
    torch.testing.assert_close(results["torch"][0], results["reference"][0], rtol=1e-10, atol=1e-12)
    for name in scene:
        torch.testing.assert_close(results["torch"][1][name], results["reference"][1][name], rtol=1e-9, atol=1e-10)


def test_early_stop_matches_brute_force_for_opaque_stack() -> None:
    n = 12
    scene = {
        "means": torch.stack([torch.zeros(n), torch.zeros(n), torch.linspace(1.0, 2.0, n)], 1).double(),
        "quats": torch.tensor([[1.0, 0, 0, 0]]).double().expand(n, 4),
        "scales": torch.full((n, 3), 0.1, dtype=torch.float64),
        "opacities": torch.full((n,), 0.95, dtype=torch.float64),
        "colors": torch.rand(n, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64),
    }
    tiled = render(**scene, camera=_camera(), backend="torch")
    brute = render(**scene, camera=_camera(), backend="reference")
    torch.testing.assert_close(tiled.rgb, brute.rgb, rtol=1e-12, atol=1e-12)
    # Centre pixel: alpha 0.95 each; T = 0.05^3 > 1e-4 after three, the fourth would go below.
    assert float(1 - tiled.alpha[12, 16]) == pytest.approx(0.05**3, rel=1e-9)
    front_three = scene["colors"][:3] * torch.tensor([0.95, 0.95 * 0.05, 0.95 * 0.05**2], dtype=torch.float64)[:, None]
    torch.testing.assert_close(tiled.rgb[12, 16], front_three.sum(0))


def test_gradcheck_tiny_case() -> None:
    scene = _random_scene(3, seed=5)
    K = torch.tensor([[20.0, 0, 6], [0, 20.0, 5], [0, 0, 1]], dtype=torch.float64)
    camera = RenderCamera(viewmat=torch.eye(4, dtype=torch.float64), K=K, width=12, height=10)

    def fn(means, scales, opacities, colors):
        out = render(means, scene["quats"], scales, opacities, colors, camera, backend="torch")
        return out.rgb, out.alpha

    inputs = tuple(scene[k].clone().requires_grad_(True) for k in ("means", "scales", "opacities", "colors"))
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5)


def test_float32_runs_and_unknown_backend_raises() -> None:
    scene = _random_scene(20, seed=6, dtype=torch.float32)
    out = render(**scene, camera=_camera(torch.float32))
    assert out.rgb.dtype == torch.float32 and out.rgb.shape == (H, W, 3)
    with pytest.raises(ValueError):
        render(**scene, camera=_camera(torch.float32), backend="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        render(scene["means"][:, :2], scene["quats"], scene["scales"], scene["opacities"], scene["colors"], _camera(torch.float32))


@pytest.mark.skipif(not gsplat_available(), reason="gsplat comparison needs CUDA and the gsplat package")
def test_gsplat_matches_torch_backend_on_cuda() -> None:
    scene = {k: v.float().cuda() for k, v in _random_scene(200, seed=7).items()}
    camera = _camera(torch.float32)
    cuda_camera = RenderCamera(camera.viewmat.cuda(), camera.K.cuda(), W, H)
    config = RasterConfig(alpha_max=0.999)  # gsplat's clamp
    ours = render(**scene, camera=cuda_camera, config=config, backend="torch")
    theirs = render(**scene, camera=cuda_camera, config=config, backend="gsplat")
    # Footprints differ only in far tails (gsplat has no sigma cutoff): compare on average.
    assert float((ours.rgb - theirs.rgb).abs().mean()) < 2e-3
    assert float((ours.alpha - theirs.alpha).abs().max()) < 5e-2
    torch.testing.assert_close(ours.means2d, theirs.means2d, rtol=1e-4, atol=1e-3)


def test_chunks_cover_busy_tiles_once_with_bounded_padding() -> None:
    counts = torch.tensor([0, 100, 3, 71, 69, 50, 1, 0, 35, 100])
    chunks = _chunk_busy_tiles(counts, pixels=16, budget=1 << 20)
    assert sorted(torch.cat(chunks).tolist()) == [1, 2, 3, 4, 5, 6, 8, 9]
    for chunk in chunks:
        assert counts[chunk].min() >= PAD_RATIO * counts[chunk].max()
