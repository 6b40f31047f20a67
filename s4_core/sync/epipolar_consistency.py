"""Pair offset of two calibrated RGB-only cameras from the motion each epipolar plane crosses.

Every plane through both optical centres (an epipolar plane) cuts A's image and B's image in
a pair of corresponding epipolar lines. Whether that plane passes through something moving at
an instant is a fact about the scene, not about either camera: A sees motion somewhere on its
line exactly when B sees motion on its own, except for what one camera cannot see (outside
its view, hidden) and pixels the motion mask misses. So each camera's frames become a profile
over the pencil of planes, how much motion each plane crosses, and at the right offset the two
profiles change together: the planes tangent to a moving object sweep across the pencil at
the same instants in both cameras. No point has to be seen by both cameras, which is what two
real cameras rarely give (they see different faces of a body, its texture blurs at low frame
rates). Sinha and Pollefeys synchronized silhouette video with the same observation, through
the planes tangent to the silhouettes.

The score at a candidate offset is the normalized correlation of the profiles' frame-to-frame
changes over the planes and A's frames, with B's profile interpolated linearly in time at A's
instants (so the score is smooth in the offset and its peak can fall between frames). Changes,
not levels: a plane that keeps crossing a body that only turns in place correlates at every
offset, while its tangent planes move only when the body does. Both directions of a pair are
scored and combined (:func:`~s4_core.sync.offset_search.combine_directions`); their
disagreement is part of the stddev.

Motion visible to one camera only (outside the other's view) leaves an unmatched change and
shifts the correlation peak by a few tenths of a frame on synthetic rooms; the stddev floor
says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from s4_core.camera import PinholeCamera
from s4_core.sync.image_history import ImageHistory
from s4_core.sync.offset_search import (
    PeakCriteria, Subsample, combine_directions, finer_period_s, offset_grid_s, one_at_a_time, search_offset,
)
from s4_core.sync.pair import PairOffset

log = logging.getLogger(__name__)

#: A change of a plane's motion counts as evidence (``min_points``) above this: a twentieth of
#: the step between no motion on the plane and certain motion.
_EVIDENCE_CHANGE = 0.05


@dataclass(frozen=True)
class EpipolarConsistencyConfig:
    """Hyperparameters of :func:`offset_by_mutual_epipolar_consistency`.

    Attributes:
        max_offset_s: largest |offset| searched without a hint, seconds.
        hint_radius_s: search radius around a given hint, seconds.
        num_planes: epipolar planes the pencil is split into, over the angles both images see.
        epipole_margin_deg: pixels whose ray is within this angle of the baseline lie in every
            plane (at the epipole), so they are left out.
        hit_pixels: a plane's motion in one frame is 1 - exp(-n / hit_pixels) for n moving
            pixels on its line: one stray pixel counts little, a few count fully (the two
            cameras see an object at different sizes, so counts are not comparable, presence is).
        min_overlap_fraction: share of A's frames whose instant must fall inside B's window.
        min_points: plane-frame samples of A whose motion changes, at the best offset.
        min_score: smallest acceptable peak correlation.
        min_peak_margin: the peak must beat every other lobe by this fraction of it.
        num_blocks: blocks of A's frames whose optima give the stddev.
        stddev_floor_frames: smallest stddev reported, in frames of the finer camera (motion
            one camera cannot see biases the peak by a few tenths of a frame, see above).
        num_groups: interleaved groups of planes whose optima give the stddev too.
        max_stddev_frames: a pair offset less certain than this (the two directions disagree
            by more than two frames, or the blocks scatter) is no measurement.
    """

    max_offset_s: float = 5.0
    hint_radius_s: float = 0.25
    num_planes: int = 120
    epipole_margin_deg: float = 3.0
    hit_pixels: float = 2.0
    min_overlap_fraction: float = 0.3
    min_points: int = 200
    min_score: float = 0.05
    min_peak_margin: float = 0.4
    num_blocks: int = 6
    stddev_floor_frames: float = 0.3
    num_groups: int = 6
    max_stddev_frames: float = 1.0

    def __post_init__(self) -> None:
        if self.num_planes < 2 or not 0 < self.epipole_margin_deg < 90 or self.hit_pixels <= 0:
            raise ValueError(f"invalid epipolar consistency config {self}")

    @property
    def criteria(self) -> PeakCriteria:
        """When a score peak is accepted as the offset."""
        return PeakCriteria(self.min_points, self.min_score, self.min_peak_margin, self.num_blocks,
                            self.stddev_floor_frames, self.num_groups)  # fmt: skip


@dataclass(frozen=True)
class _PlaneMotion:
    """One camera's motion per epipolar plane of a pair, frame by frame."""

    camera: str
    stamps_s: np.ndarray  # [T] the camera's stamps
    motion: np.ndarray  # [T, P] in [0, 1]: how surely plane p crosses something moving in frame t


def offset_by_mutual_epipolar_consistency(
    history_a: ImageHistory,
    history_b: ImageHistory,
    config: EpipolarConsistencyConfig = EpipolarConsistencyConfig(),
    hint_s: float | None = None,
) -> PairOffset:
    """Offset of B relative to A (B's stamp minus A's stamp of one instant).

    Args:
        history_a: A's recent images, with A's calibration.
        history_b: B's recent images over (about) the same window, with B's calibration.
        config: hyperparameters.
        hint_s: current estimate of the offset, to search near it only.
    """
    cam_a, cam_b = history_a.model.name, history_b.model.name
    period_s = finer_period_s(history_a.stamps_s, history_b.stamps_s)
    t_a_s = float(np.mean(history_a.stamps_s[[0, -1]])) if history_a.num_frames else float("nan")

    def fail(reason: str) -> PairOffset:
        return PairOffset(cam_a, cam_b, float("nan"), float("inf"), t_a_s, period_s, 0, False, reason)

    if not (history_a.ready and history_b.ready):
        return fail("no image history yet")
    planes = _plane_index(history_a.model, history_b.model, config)
    if planes is None:
        return fail("no epipolar plane crosses both images (or the cameras share an optical centre)")
    motion_a, motion_b = (_plane_motion(h, index, config) for h, index in zip((history_a, history_b), planes))
    if not (np.ptp(motion_a.motion, axis=0).any() and np.ptp(motion_b.motion, axis=0).any()):
        return fail("no motion: static scene or no shared motion")
    forward = _directional_offset(motion_a, motion_b, period_s, config, hint_s)
    backward = _directional_offset(motion_b, motion_a, period_s, config, None if hint_s is None else -hint_s)
    pair = combine_directions(forward, backward)
    if pair.ok and pair.stddev_s > config.max_stddev_frames * period_s:
        return replace(pair, ok=False, offset_s=float("nan"), stddev_s=float("inf"),
                       reason=f"directions disagree ({forward.offset_s:+.4f} s vs {-backward.offset_s:+.4f} s)")  # fmt: skip
    if pair.ok:
        log.debug("%s-%s: %.5f s +- %.2f ms", cam_a, cam_b, pair.offset_s, pair.stddev_s * 1e3)
    return pair


def _plane_index(
    model_a: PinholeCamera, model_b: PinholeCamera, config: EpipolarConsistencyConfig
) -> tuple[np.ndarray, np.ndarray] | None:
    """Epipolar plane [h, w] of every pixel of A and of B (-1: near the epipole, or a plane
    the other camera does not see); None when the baseline is zero or no plane crosses both
    images.

    A plane is named by the direction of its normal around the baseline: b x d for a ray d
    from A's centre and b x d' for the ray d' from B's centre to the same point are the same
    vector up to a positive factor, so the angle names the same half-plane in both cameras.
    """
    baseline = model_b.center_world - model_a.center_world
    length = float(np.linalg.norm(baseline))
    if length < 1e-9:
        return None
    b = baseline / length
    normal = np.cross(b, model_a.world_from_camera[:3, 2])  # A's optical axis sits at angle 0
    if np.linalg.norm(normal) < 1e-9:  # looking along the baseline: any direction across it
        normal = np.cross(b, np.eye(3)[int(np.argmin(np.abs(b)))])
    e1 = normal / np.linalg.norm(normal)
    e2 = np.cross(b, e1)
    angles = [_plane_angles(model, b, e1, e2, config.epipole_margin_deg) for model in (model_a, model_b)]
    lo = max(float(np.nanmin(a)) for a in angles)
    hi = min(float(np.nanmax(a)) for a in angles)
    if not hi > lo:
        return None
    edges = np.linspace(lo, hi, config.num_planes + 1)
    indices = []
    for a in angles:
        index = np.digitize(np.nan_to_num(a, nan=-np.inf), edges) - 1
        index[(index < 0) | (index >= config.num_planes)] = -1
        indices.append(index)
    return indices[0], indices[1]


def _plane_angles(model: PinholeCamera, b: np.ndarray, e1: np.ndarray, e2: np.ndarray, margin_deg: float) -> np.ndarray:
    """Angle [h, w] around the baseline of each pixel's epipolar plane (NaN near the epipole)."""
    v, u = np.mgrid[0 : model.height, 0 : model.width]
    pixels = np.stack([u, v, np.ones_like(u)], axis=-1).astype(np.float64)
    rays = pixels @ (model.world_from_camera[:3, :3] @ np.linalg.inv(model.K)).T
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    normals = np.cross(b, rays)
    angles = np.arctan2(normals @ e2, normals @ e1)
    return np.where(np.linalg.norm(normals, axis=-1) > np.sin(np.deg2rad(margin_deg)), angles, np.nan)


def _plane_motion(history: ImageHistory, plane: np.ndarray, config: EpipolarConsistencyConfig) -> _PlaneMotion:
    """How surely each plane crosses motion in each of the history's frames."""
    on_plane = plane.ravel() >= 0
    plane_of_pixel = plane.ravel()[on_plane]
    masks = np.stack([history.dynamic_mask(k).ravel()[on_plane] for k in range(history.num_frames)])  # [T, n]
    frame, pixel = np.nonzero(masks)
    counts = np.bincount(frame * config.num_planes + plane_of_pixel[pixel], minlength=history.num_frames * config.num_planes)
    motion = 1.0 - np.exp(-counts.reshape(history.num_frames, config.num_planes) / config.hit_pixels)
    return _PlaneMotion(history.model.name, history.stamps_s, motion)


def _directional_offset(
    a: _PlaneMotion, b: _PlaneMotion, period_s: float, config: EpipolarConsistencyConfig, hint_s: float | None
) -> PairOffset:
    """B's offset relative to A with B's profile interpolated at A's instants."""
    change_a = np.diff(a.motion, axis=0)  # [Ta - 1, P]: the change over each of A's frame intervals

    def correlation(offset_s: float, part: Subsample) -> tuple[float, float]:
        t_b = a.stamps_s + offset_s
        inside = (t_b >= b.stamps_s[0]) & (t_b <= b.stamps_s[-1])
        if inside.mean() < config.min_overlap_fraction:
            return float("nan"), 0.0
        j = np.clip(np.searchsorted(b.stamps_s, t_b, side="right") - 1, 0, len(b.stamps_s) - 2)
        f = ((t_b - b.stamps_s[j]) / (b.stamps_s[j + 1] - b.stamps_s[j]))[:, None]
        change_b = np.diff(b.motion[j] * (1.0 - f) + b.motion[j + 1] * f, axis=0)
        rows = inside[1:] & inside[:-1]
        if part.frames is not None:
            rows &= np.isin(np.arange(len(change_a)), part.frames)
        planes = np.arange(config.num_planes) % part.group[1] == part.group[0] if part.group is not None else slice(None)
        x, y = change_a[rows][:, planes], change_b[rows][:, planes]
        points = float(np.count_nonzero(np.abs(x) > _EVIDENCE_CHANGE))
        return _correlation_centred_per_plane(x, y), points

    grid = offset_grid_s(period_s, config.max_offset_s, hint_s, config.hint_radius_s)
    found = search_offset(one_at_a_time(correlation), grid, len(change_a), period_s, config.criteria)
    t_a_s = float(np.mean(a.stamps_s[[0, -1]]))
    if not found.ok:
        return PairOffset(a.camera, b.camera, float("nan"), float("inf"), t_a_s, period_s, 0, False, found.reason)
    return PairOffset(a.camera, b.camera, found.offset_s, found.stddev_s, t_a_s, period_s, found.points, True)


def _correlation_centred_per_plane(x: np.ndarray, y: np.ndarray) -> float:
    """Normalized correlation of ``x`` and ``y`` [T, P], each plane's column centred on its mean.

    From the sums (``sum (x - mx)(y - my) = sum xy - sum x sum y / T`` per column), which
    spares the centred copies: this runs for every candidate offset of every pair.
    """
    if len(x) == 0:
        return 0.0
    sum_x, sum_y = x.sum(axis=0), y.sum(axis=0)
    xy = float(np.einsum("tp,tp->", x, y) - sum_x @ sum_y / len(x))
    xx = float(np.einsum("tp,tp->", x, x) - sum_x @ sum_x / len(x))
    yy = float(np.einsum("tp,tp->", y, y) - sum_y @ sum_y / len(y))
    norm = np.sqrt(max(xx, 0.0) * max(yy, 0.0))
    return xy / norm if norm > 0 else 0.0
