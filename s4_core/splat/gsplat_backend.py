"""gsplat (CUDA) backend with the conventions of :func:`s4_core.splat.render.render`.

Imported only when a CUDA device and gsplat are present. Two conventions differ and are bridged
here: gsplat puts pixel centres at half-integers (so ``cx``, ``cy`` move by +0.5), and we blend
the background and normalize the depth ourselves so both backends agree on those definitions.
"""

from __future__ import annotations

import torch
from torch import Tensor

from s4_core.splat.config import RasterConfig
from s4_core.splat.render import RenderCamera, RenderOutput


def render_gsplat(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz
    scales: Tensor,  # [N, 3] linear
    opacities: Tensor,  # [N]
    colors: Tensor,  # [N, C]
    camera: RenderCamera,
    background: Tensor,  # [C]
    config: RasterConfig,
) -> RenderOutput:
    """Render one camera with ``gsplat.rasterization`` (accumulated colour + accumulated depth)."""
    import gsplat

    K = camera.K.clone()
    K[0, 2] += 0.5
    K[1, 2] += 0.5
    colors_out, alphas, meta = gsplat.rasterization(
        means, quats, scales, opacities, colors,
        viewmats=camera.viewmat[None], Ks=K[None], width=camera.width, height=camera.height,
        near_plane=config.near_m, far_plane=config.far_m, eps2d=config.eps2d,
        render_mode="RGB+D", packed=False,
    )  # fmt: skip
    accumulated, alpha = colors_out[0], alphas[0, ..., 0]
    rgb = accumulated[..., :-1] + (1 - alpha)[..., None] * background
    depth = accumulated[..., -1] / torch.clamp(alpha, min=1e-10)
    radii = meta["radii"][0]
    if radii.ndim == 2:
        radii = radii.max(dim=-1).values
    return RenderOutput(rgb=rgb, alpha=alpha, depth=depth, means2d=meta["means2d"][0], radii=radii.long())
