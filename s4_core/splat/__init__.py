"""Gaussian splatting for s4: a differentiable CPU tile rasterizer (gsplat on CUDA) and the
sliding-window motion-spline 4D model refined by rendering frames at their corrected times.

Modules: ``render`` (entry point, backends), ``projection`` (EWA), ``tiles`` and
``rasterize_tiles`` (fast path), ``reference`` (brute force), ``spline`` and ``scaffold``
(B-spline trajectories), ``bound_gaussians`` and ``densify`` (Gaussians on the scaffold),
``appearance`` (per-camera colour response), ``model`` (incremental optimization), ``export`` (.ply, PointCloud2 and marker arrays).
"""

from s4_core.splat.config import RasterConfig
from s4_core.splat.densify import DensifyConfig
from s4_core.splat.export import EllipsoidMarkers, GaussianSnapshot, ellipsoid_markers, pointcloud_array, read_ply, write_ply
from s4_core.splat.model import SplatModel, SplatModelConfig, StepReport
from s4_core.splat.render import RenderCamera, RenderOutput, render
from s4_core.splat.scaffold import MotionScaffold

__all__ = [
    "DensifyConfig",
    "EllipsoidMarkers",
    "GaussianSnapshot",
    "MotionScaffold",
    "RasterConfig",
    "RenderCamera",
    "RenderOutput",
    "SplatModel",
    "SplatModelConfig",
    "StepReport",
    "ellipsoid_markers",
    "pointcloud_array",
    "read_ply",
    "render",
    "write_ply",
]
