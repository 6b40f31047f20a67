"""Incremental sliding-window motion-spline 4D Gaussian splatting.

:class:`SplatModel` is initialized from world-frame 3D tracks whose times are already reference
(capture) times, then refined online: every new frame slides the window and runs a bounded
number of Adam steps, each rendering one buffered frame at its corrected capture time
``stamp - offset - delta`` through the camera's colour response and comparing it with the
image (L1). The per-camera ``delta`` is a learnable sub-frame correction of the given clock
offset, bounded by ``tanh``; the reference camera has none. With depth frames,
:meth:`SplatModel.seed_from_depth` adds the dense surface the sparse tracks miss. Because
Gaussian centres move along C2 splines, the rendered image has a time derivative, so the
photometric loss pulls each ``delta`` toward the frame's true capture time (with an exact model;
with a model still being fitted the bench shows the pull can be wrong, see ``offset_settle_s``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

from s4_core.camera import PinholeCamera
from s4_core.clock import ClockModel, ns_to_seconds
from s4_core.frames import Frame
from s4_core.tracks import TrackSet
from s4_core.splat.adam_state import NamedAdam
from s4_core.splat.appearance import IDENTITY_AFFINE, apply_colour_affine
from s4_core.splat.bound_gaussians import BoundGaussians
from s4_core.splat.config import RasterConfig
from s4_core.splat.densify import DensifyConfig, GradientAccumulator, densify_and_prune
from s4_core.splat.export import GaussianSnapshot
from s4_core.splat.frame_window import FrameWindow, TrainingFrame
from s4_core.splat.node_selection import motion_aware_sample
from s4_core.splat.render import RenderCamera, RenderOutput, render
from s4_core.splat.scaffold import MotionScaffold
from s4_core.splat.surfels import pixel_surfels

log = logging.getLogger(__name__)

#: Times at which node selection compares the tracks' motion (spread over the window).
NODE_SELECTION_TIMES = 16


@dataclass(frozen=True)
class SplatModelConfig:
    """Hyperparameters of the incremental model.

    Attributes:
        window_s: time span kept (control points, frames), seconds.
        knot_spacing_s: spline control-point spacing, seconds; motion faster than about
            1 / (2 * knot_spacing_s) Hz is smoothed away.
        max_nodes: cap on scaffold nodes (tracks are sampled down to it, see
            :mod:`s4_core.splat.node_selection`).
        neighbours: scaffold nodes blended per Gaussian.
        node_coverage_share: fraction of the nodes spread evenly in space; the others go where
            the scaffold represents the tracks' motion worst. Splat bench, held-out times of the
            reference camera at 160x120: 26.2 dB with evenly spread nodes only, 27.3 / 29.0 / 28.6
            dB with a share of 0.25 / 0.5 / 0.75 (the moving bodies: 19.7 -> 24.0 dB at 0.5).
        node_motion_tolerance_m: motion errors up to this count as represented (below it the
            remaining nodes go to coverage: on a static scene, sampling is farthest-point); and
            a Gaussian blends only nodes that move like its nearest one within this (so the
            floor beside a moving body stays still). The binding rule took the splat bench's
            held-out times from 27.2 to 27.9 dB at 320x240.
        steps_per_frame: Adam steps run per new frame (the first renders the new frame).
        max_frames_per_camera: frame buffer size per camera.
        densify_every_steps: steps between density-control rounds (0 disables).
        initial_opacity: opacity of Gaussians created from tracks or depth (high, so a seeded
            surface starts nearly opaque instead of showing the background through it).
        initial_scale_factor: initial standard deviation as a fraction of the spacing between
            neighbouring points (track neighbours, or depth pixels at their depth). 3DGS uses 1;
            half keeps footprints a few pixels wide, so far fewer (Gaussian, pixel) pairs are
            evaluated per step, and the surface is still covered without holes.
        seed_from_depth: lift the first frame with depth of each camera into Gaussians
            (:meth:`SplatModel.seed_from_depth`) before training on it. A model started from
            tracks has a Gaussian per tracked point, which leaves most of the room empty: the
            splat bench's "pipeline model" row (4 cameras, 320x240) went from 15.4 dB (1.2k
            Gaussians) to 17.8 dB with seeds every 6 px (8.0k) and 19.3 dB every 4 px (15.8k)
            on the reference camera's untrained frames.
        depth_stride_px: pixel stride at which :meth:`SplatModel.seed_from_depth` lifts depth.
        surfel_max_stretch: a Gaussian lifted from depth is the flat patch of surface its pixel
            covers (:mod:`s4_core.splat.surfels`), up to this many footprints long (bounds
            patches seen almost edge-on). Isotropic seeds left a floor seen at a grazing angle
            striped from above; flat ones took the splat bench's held-out camera from 18.8
            to 19.2 dB (masked 20.8 -> 21.5 dB) and its held-out times from 27.9 to 29.1 dB
            at 320x240.
        surfel_thickness: extent of those patches along their normal, in footprints.
        refine_offsets: learn a per-camera clock-offset correction. Off by default: on the
            benchmark scenes the correction moved offsets away from the truth (7.3 ms of error
            before, 10.3 ms after), below the model's own error; see ``s4 bench --only splat``.
        learn_colour_response: learn a per-camera colour affine (see
            :mod:`s4_core.splat.appearance`); the reference camera keeps the identity.
        max_offset_delta_s: bound on that correction (a fraction of a frame period).
        offset_settle_s: a frame informs its camera's offset correction only once it is this
            much older than the newest frame, because near the head the motion is still
            extrapolated. Without it every correction drifted positive in the bench (+7 to +19
            ms whatever the sign of the error); with it the bias is gone but the corrections
            still do not converge to the truth while the geometry is being fitted.
        background: RGB in [0, 1] behind the Gaussians.
        lr_*: Adam learning rates (control points and offsets in metres, log scales, quaternion
            components, opacity/colour logits, offset correction in tanh-space units, colour
            affine entries).
        densify: density-control settings (including the Gaussian cap).
        raster: rasterizer settings.
        seed: seed of frame sampling and split draws.
    """

    window_s: float = 2.0
    knot_spacing_s: float = 0.1
    max_nodes: int = 256
    neighbours: int = 4
    node_coverage_share: float = 0.5
    node_motion_tolerance_m: float = 0.005
    steps_per_frame: int = 2
    max_frames_per_camera: int = 16
    densify_every_steps: int = 100
    initial_opacity: float = 0.8
    initial_scale_factor: float = 0.5
    seed_from_depth: bool = True
    depth_stride_px: int = 2
    surfel_max_stretch: float = 4.0
    surfel_thickness: float = 0.3
    refine_offsets: bool = False
    learn_colour_response: bool = True
    max_offset_delta_s: float = 0.02
    offset_settle_s: float = 0.2
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    lr_control: float = 1e-3
    lr_offsets: float = 1e-3
    lr_log_scales: float = 5e-3
    lr_quats: float = 1e-3
    lr_opacity: float = 5e-2
    lr_colour: float = 2.5e-2
    lr_offset_delta: float = 5e-2
    lr_colour_affine: float = 2e-3
    densify: DensifyConfig = field(default_factory=DensifyConfig)
    raster: RasterConfig = field(default_factory=RasterConfig)
    seed: int = 0

    @property
    def max_control_points(self) -> int:
        """Control points needed to support ``window_s`` plus one spare segment."""
        return math.ceil(self.window_s / self.knot_spacing_s) + 4


@dataclass(frozen=True)
class StepReport:
    """What one :meth:`SplatModel.add_frame` did.

    Attributes:
        losses: L1 loss of each step run.
        num_gaussians: Gaussians after the steps.
        offset_deltas_s: current offset correction per non-reference camera, seconds.
    """

    losses: tuple[float, ...]
    num_gaussians: int
    offset_deltas_s: dict[str, float]


class SplatModel:
    """Sliding-window motion-spline Gaussians; build with :meth:`from_tracks`.

    State (explicit, all owned here): ``time_origin_s`` (absolute reference time that all
    internal times are relative to, so float32 keeps sub-millisecond resolution), ``scaffold``,
    ``gaussians``, ``adam``, per-camera ``offset_raw`` and ``colour_affines`` tensors, ``frames``,
    ``newest_capture_s`` and ``step_count``.
    """

    def __init__(
        self,
        config: SplatModelConfig,
        reference_camera: str,
        time_origin_s: float,
        scaffold: MotionScaffold,
        gaussians: BoundGaussians,
    ) -> None:
        self.config = config
        self.reference_camera = reference_camera
        self.time_origin_s = float(time_origin_s)
        self.scaffold = scaffold
        self.gaussians = gaussians
        self.adam = NamedAdam(
            {"control": scaffold.control, **gaussians.params},
            {
                "control": config.lr_control, "offsets": config.lr_offsets, "log_scales": config.lr_log_scales,
                "quats": config.lr_quats, "opacity_logits": config.lr_opacity, "colour_logits": config.lr_colour,
            },
        )  # fmt: skip
        self.offset_raw: dict[str, Tensor] = {}
        self.colour_affines: dict[str, Tensor] = {}  # camera -> [3, 4]
        self.frames = FrameWindow(config.max_frames_per_camera)
        self.grads = GradientAccumulator(gaussians.count)
        self.step_count = 0
        self.newest_capture_s = -math.inf
        self.generator = torch.Generator().manual_seed(config.seed)
        self.seeded_cameras: set[str] = set()  # cameras whose depth has been lifted (seed_from_depth)
        self._background = torch.tensor(config.background, dtype=torch.float32)

    @classmethod
    def from_tracks(
        cls,
        config: SplatModelConfig,
        reference_camera: str,
        times_s: np.ndarray,  # [T] reference (capture) seconds, increasing
        xyz: np.ndarray,  # [T, N, 3] world metres, NaN where unknown
        colours: np.ndarray,  # [N, 3] RGB in [0, 1]
        visible: np.ndarray | None = None,  # [T, N] bool
    ) -> "SplatModel":
        """Fit every track with a spline, keep ``max_nodes`` of them as scaffold nodes (see
        :mod:`s4_core.splat.node_selection`) and put one Gaussian on each track at the newest
        time. Samples older than ``window_s`` are ignored."""
        times_s, xyz, colours = np.asarray(times_s, np.float64), np.asarray(xyz, np.float64), np.asarray(colours)
        T, N = xyz.shape[:2]
        if times_s.shape != (T,) or xyz.shape != (T, N, 3) or colours.shape != (N, 3):
            raise ValueError(f"need times [T], xyz [T, N, 3], colours [N, 3]; got {times_s.shape}, {xyz.shape}, {colours.shape}")
        visible = np.isfinite(xyz).all(-1) if visible is None else (np.asarray(visible, bool) & np.isfinite(xyz).all(-1))
        recent = times_s >= times_s[-1] - config.window_s
        origin = float(times_s[recent][0])
        t_rel = torch.as_tensor(times_s[recent] - origin, dtype=torch.float32)
        samples = torch.as_tensor(xyz[recent], dtype=torch.float32)
        weights = torch.as_tensor(visible[recent], dtype=torch.float32)
        tracks = MotionScaffold.fit(t_rel, samples, weights, config.knot_spacing_s, config.max_control_points)
        newest = t_rel[-1:]
        points = tracks.positions(newest)[:, 0].detach()
        sample_times = torch.linspace(float(t_rel[0]), float(newest), min(len(t_rel), NODE_SELECTION_TIMES))
        nodes = motion_aware_sample(
            tracks.positions(sample_times).detach(), config.max_nodes, config.neighbours, config.node_coverage_share,
            config.node_motion_tolerance_m,
        )  # fmt: skip
        scaffold = MotionScaffold(tracks.control[nodes], tracks.grid_start_s, tracks.dt_s, config.max_control_points)
        gaussians = BoundGaussians.initialize(
            points, torch.as_tensor(colours, dtype=torch.float32), points[nodes], config.neighbours,
            config.initial_scale_factor * initial_scales_m(points), config.initial_opacity,
            scaffold.displacements(float(newest), NODE_SELECTION_TIMES), config.node_motion_tolerance_m,
        )  # fmt: skip
        log.info("splat model: %d Gaussians on %d nodes, %d control points", len(points), len(nodes), scaffold.num_control_points)
        return cls(config, reference_camera, origin, scaffold, gaussians)

    @classmethod
    def from_trackset(
        cls, config: SplatModelConfig, reference_camera: str, tracks: TrackSet, clock: ClockModel, colours: np.ndarray
    ) -> "SplatModel":
        """:meth:`from_tracks` on a 3D TrackSet whose stamps ``clock`` maps to capture times."""
        if tracks.xyz is None:
            raise ValueError(f"track set of {tracks.camera} has no 3D positions")
        times_s = np.asarray(clock.capture_time(ns_to_seconds(tracks.stamps_ns)), dtype=np.float64)
        return cls.from_tracks(config, reference_camera, times_s, tracks.xyz, colours, tracks.visible)

    # ---- streaming -------------------------------------------------------------------------

    def add_frame(self, frame: Frame, camera: PinholeCamera, clock: ClockModel) -> StepReport:
        """Buffer a frame (capture time from ``clock``), slide the window, run the step budget.
        With ``seed_from_depth``, a camera's first frame with depth is lifted first."""
        if self.config.seed_from_depth and frame.depth_m is not None and frame.camera not in self.seeded_cameras:
            added = self.seed_from_depth(frame, camera, clock)
            log.info("splat model: %d Gaussians lifted from the depth of %s", added, frame.camera)
        capture_s = float(clock.capture_time(ns_to_seconds(frame.stamp_ns))) - self.time_origin_s
        image = torch.as_tensor(frame.rgb, dtype=torch.float32) / 255.0
        new = TrainingFrame(frame.camera, RenderCamera.from_pinhole(camera), image, capture_s)
        self._ensure_camera_parameters(frame.camera)
        self._slide_window(capture_s + self.config.max_offset_delta_s)
        self.newest_capture_s = max(self.newest_capture_s, capture_s)
        self.frames.add(new)
        self.frames.retire_before(self.scaffold.supported_interval_s[0])
        losses = [self.step(new if i == 0 or not len(self.frames) else self.frames.sample(self.generator)) for i in range(self.config.steps_per_frame)]
        return StepReport(tuple(losses), self.gaussians.count, self.offset_deltas_s())

    def step(self, target: TrainingFrame) -> float:
        """One Adam step on one frame; returns its L1 loss."""
        self.adam.zero_grad()
        t_s = self._corrected_capture_s(target)
        out = self._render_at(target.camera, t_s)
        out.means2d.retain_grad()
        loss = (self._camera_response(target.camera_name, out.rgb) - target.image).abs().mean()
        if not bool((out.radii > 0).any()):  # no Gaussian in view: nothing to learn from this frame
            return float(loss.detach())
        loss.backward()
        self.grads.add(out.means2d.grad, out.radii, target.camera.width, target.camera.height)
        self.adam.step()
        self.step_count += 1
        if self.config.densify_every_steps and self.step_count % self.config.densify_every_steps == 0:
            self._densify()
        return float(loss.detach())

    def seed_from_depth(self, frame: Frame, camera: PinholeCamera, clock: ClockModel) -> int:
        """Add one Gaussian per ``depth_stride_px``-th pixel with valid depth; returns the count.

        Tracks are sparse, but a depth camera sees every surface it faces (the static room is
        most of every image): lifting its pixels at the frame's capture time gives the dense
        initialization tracks cannot. Each point is bound to its nearest scaffold nodes at that
        time, so points on the static room follow static nodes and points on a moving body its
        nodes. Each is flat, shaped like the patch of surface its pixel covers, and
        ``initial_scale_factor`` times that patch in size.
        Coarser existing Gaussians with a new point within one standard deviation (blobs on
        sparse tracks) are replaced; pixels whose point lies within a footprint of a remaining
        Gaussian are skipped, so cameras that see the same surface do not stack Gaussians on it.
        Seeding is not bounded by ``densify.max_gaussians`` (that caps densification only):
        choose ``depth_stride_px`` for the image size.
        """
        self.seeded_cameras.add(frame.camera)
        points, colours, footprint_m, pixels = lift_depth(frame, camera, self.config.depth_stride_px, self.config.raster.near_m)
        if points.shape[0] == 0:
            return 0
        quats, stretch = pixel_surfels(frame.depth_m, camera, *pixels, self.config.depth_stride_px,
                                       self.config.surfel_max_stretch, self.config.surfel_thickness)
        new_scales = self.config.initial_scale_factor * footprint_m[:, None] * stretch  # [P, 3]
        capture_s = float(clock.capture_time(ns_to_seconds(frame.stamp_ns))) - self.time_origin_s
        with torch.no_grad():
            t = torch.tensor([capture_s])
            nodes, means = self.scaffold.positions(t)[:, 0], self._means_at(t)
            scales = self.gaussians.scales().max(dim=1).values
            distance_m, nearest = nearest_points(means, points)
            keep = (distance_m > scales) | (scales <= self.config.initial_scale_factor * footprint_m[nearest])
            fresh = nearest_points(points, means[keep])[0] > footprint_m
        new = BoundGaussians.initialize(
            points[fresh], colours[fresh], nodes, self.config.neighbours, new_scales[fresh], self.config.initial_opacity,
            self.scaffold.displacements(capture_s, NODE_SELECTION_TIMES), self.config.node_motion_tolerance_m, quats[fresh],
        )  # fmt: skip
        self.gaussians.rebuild(torch.nonzero(keep).squeeze(1), new.params, new.node_ids, new.node_weights, self.adam)
        self.grads = GradientAccumulator(self.gaussians.count)
        return new.count

    # ---- queries ---------------------------------------------------------------------------

    def render(self, camera: PinholeCamera, t_s: float) -> RenderOutput:
        """Render a camera at absolute reference time ``t_s`` (no gradients)."""
        with torch.no_grad():
            t = torch.tensor([t_s - self.time_origin_s], dtype=torch.float32)
            return self._render_at(RenderCamera.from_pinhole(camera), t)

    def gaussians_at(self, t_s: float) -> GaussianSnapshot:
        """All Gaussians at absolute reference time ``t_s``."""
        with torch.no_grad():
            means = self._means_at(torch.tensor([t_s - self.time_origin_s], dtype=torch.float32))
            g = self.gaussians
            quats = torch.nn.functional.normalize(g.params["quats"], dim=-1)
            return GaussianSnapshot(
                t_s=float(t_s), means=means.numpy().copy(), quats=quats.numpy().copy(), scales=g.scales().numpy().copy(),
                opacities=g.opacities().numpy().copy(), colours=g.colours().numpy().copy(),
            )  # fmt: skip

    def scaffold_polylines(self, samples_per_segment: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """Node trajectories over the supported interval: times [S] (absolute s) and points [Nn, S, 3]."""
        start, end = self.scaffold.supported_interval_s
        count = max(2, int(round((end - start) / self.scaffold.dt_s)) * samples_per_segment + 1)
        t = torch.linspace(start, end, count)
        with torch.no_grad():
            return (t.double().numpy() + self.time_origin_s), self.scaffold.positions(t).numpy().copy()

    def tensor_bytes(self) -> int:
        """Bytes held in tensors (parameters, optimizer moments, buffered frames): what must
        stay bounded on an endless stream."""
        images = [f.image for f in self.frames.all_frames()]
        return sum(t.numel() * t.element_size() for t in self.adam.parameters() + self.adam.moments() + images)

    @property
    def supported_interval_s(self) -> tuple[float, float]:
        """Absolute reference times the model can render without extrapolating."""
        start, end = self.scaffold.supported_interval_s
        return start + self.time_origin_s, end + self.time_origin_s

    def offset_deltas_s(self) -> dict[str, float]:
        """Learned offset corrections per camera, seconds (refined offset = given + delta)."""
        return {name: float(self._offset_delta_s(name).detach()) for name in self.offset_raw}

    def refined_clock(self, camera_name: str, clock: ClockModel) -> ClockModel:
        """``clock`` with this model's offset correction for ``camera_name`` added."""
        delta = self.offset_deltas_s().get(camera_name, 0.0)
        return ClockModel(offset_s=clock.offset_s + delta, drift_ppm=clock.drift_ppm, t0_s=clock.t0_s)

    # ---- internals -------------------------------------------------------------------------

    def _means_at(self, t_s: Tensor) -> Tensor:  # t_s [1] model-relative
        return self.gaussians.means(self.scaffold.positions(t_s)[:, 0])

    def _render_at(self, camera: RenderCamera, t_s: Tensor) -> RenderOutput:
        g = self.gaussians
        return render(
            self._means_at(t_s), g.params["quats"], g.scales(), g.opacities(), g.colours(), camera,
            background=self._background, config=self.config.raster,
        )  # fmt: skip

    def _corrected_capture_s(self, frame: TrainingFrame) -> Tensor:
        """Model-relative capture time [1], differentiable in the camera's offset correction
        once the frame has settled (see ``offset_settle_s``)."""
        delta = self._offset_delta_s(frame.camera_name).reshape(1)
        if frame.capture_s > self.newest_capture_s - self.config.offset_settle_s:
            delta = delta.detach()
        return torch.tensor([frame.capture_s], dtype=torch.float32) - delta

    def _offset_delta_s(self, camera_name: str) -> Tensor:
        raw = self.offset_raw.get(camera_name)
        if raw is None:
            return torch.zeros(())
        return self.config.max_offset_delta_s * torch.tanh(raw)

    def _camera_response(self, camera_name: str, rgb: Tensor) -> Tensor:  # rgb [H, W, 3]
        affine = self.colour_affines.get(camera_name)
        return rgb if affine is None else apply_colour_affine(rgb, affine)

    def _ensure_camera_parameters(self, camera_name: str) -> None:
        """Create the offset correction and colour response of a new non-reference camera."""
        if camera_name == self.reference_camera:
            return
        if self.config.refine_offsets and camera_name not in self.offset_raw:
            self.offset_raw[camera_name] = torch.zeros((), requires_grad=True)
            self.adam.add(f"offset_delta/{camera_name}", self.offset_raw[camera_name], self.config.lr_offset_delta)
        if self.config.learn_colour_response and camera_name not in self.colour_affines:
            self.colour_affines[camera_name] = IDENTITY_AFFINE.clone().requires_grad_(True)
            self.adam.add(f"colour_affine/{camera_name}", self.colour_affines[camera_name], self.config.lr_colour_affine)

    def _slide_window(self, newest_s: float) -> None:
        slide = self.scaffold.slide_to_cover(newest_s)
        if slide.added_head or slide.retired_tail:
            self.adam.replace("control", self.scaffold.control, slide.remap)

    def _densify(self) -> None:
        cloned, split, pruned = densify_and_prune(self.gaussians, self.grads, self.adam, self.config.densify, self.generator)
        self.grads = GradientAccumulator(self.gaussians.count)
        log.debug("densify: cloned %d, split %d, pruned %d -> %d", cloned, split, pruned, self.gaussians.count)


def lift_depth(
    frame: Frame, camera: PinholeCamera, stride_px: int, near_m: float
) -> tuple[Tensor, Tensor, Tensor, tuple[np.ndarray, np.ndarray]]:
    """World points [P, 3], their colours [P, 3] in [0, 1], pixel footprints [P] (metres
    spanned by ``stride_px`` pixels at their depth) and pixel rows and columns [P] of every
    ``stride_px``-th pixel with depth."""
    if frame.depth_m is None:
        raise ValueError(f"frame of {frame.camera} has no depth")
    v, u = np.mgrid[stride_px // 2 : camera.height : stride_px, stride_px // 2 : camera.width : stride_px]
    depth = np.asarray(frame.depth_m, np.float64)[v, u]
    ok = np.isfinite(depth) & (depth > near_m)
    uv = np.stack([u[ok], v[ok]], -1).astype(np.float64)
    points = torch.as_tensor(camera.unproject(uv, depth[ok]), dtype=torch.float32)
    colours = torch.as_tensor(frame.rgb[v[ok], u[ok]] / 255.0, dtype=torch.float32)
    footprint_m = torch.as_tensor(depth[ok] * stride_px / camera.K[0, 0], dtype=torch.float32)
    return points, colours, footprint_m, (v[ok], u[ok])


def nearest_points(points: Tensor, others: Tensor) -> tuple[Tensor, Tensor]:  # [P, 3], [G, 3]
    """Distance [P] to the nearest of ``others`` and its index [P] (inf and G when there is none)."""
    if others.shape[0] == 0:
        return torch.full((points.shape[0],), float("inf")), torch.full((points.shape[0],), 0, dtype=torch.int64)
    distance_m, index = cKDTree(others.numpy()).query(points.numpy(), k=1)
    return torch.as_tensor(distance_m, dtype=points.dtype), torch.as_tensor(index, dtype=torch.int64)


def initial_scales_m(points: Tensor, neighbours: int = 3) -> Tensor:  # points [N, 3]
    """Isotropic initial scale [N]: mean distance to the nearest ``neighbours`` other points (3DGS)."""
    k = min(neighbours + 1, points.shape[0])
    distances = torch.topk(torch.cdist(points, points), k, dim=1, largest=False).values[:, 1:]
    if distances.shape[1] == 0:
        return torch.full((points.shape[0],), 0.01)
    return torch.clamp(distances.mean(dim=1), min=1e-4)
