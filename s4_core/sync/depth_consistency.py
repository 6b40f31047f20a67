"""Pair offset of two calibrated depth cameras from the consistency of moving geometry.

Camera B's moving surface points (its 3D tracks where they lie in front of B's static
background), interpolated in time, must at the right offset lie *on* the surfaces camera A
measured at the same instant: projected into A, their depth equals A's depth there (support),
or lies behind it (hidden from A: no information). At a wrong offset the moving objects are
elsewhere, so B's points float in space A saw as empty (in front of A's surface: a violation).
This is the overlap of motion SyncTrack4D aligns, measured densely against A's depth instead of
through one-to-one track matches, which real data rarely offers (two cameras mostly see
different faces of an object) and which track identity errors corrupt. The score is smooth in
the offset (tracks are interpolated linearly between frames), so a bounded 1D search refines the
best frame lag to a sub-frame offset; its stddev comes from the spread of the optimum over
independent blocks of A's frames.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from s4_core.arrays import finite_points
from s4_core.camera import PinholeCamera
from s4_core.sync.depth_history import DepthHistory
from s4_core.sync.near_surfaces import NearSurfaceTable
from s4_core.sync.offset_search import (
    PeakCriteria, Subsample, combine_directions, finer_period_s, offset_grid_s, search_offset,
)
from s4_core.sync.pair import PairOffset
from s4_core.tracks import TrackSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DepthConsistencyConfig:
    """Hyperparameters of :func:`offset_by_depth_consistency`.

    Attributes:
        max_offset_s: largest |offset| searched without a hint, seconds.
        hint_radius_s: search radius around a given hint, seconds.
        sigma_m: depth residual scale (sensor noise plus track error), metres.
        max_speed_mps: faster steps between two frames are track jumps, not motion.
        max_tracks: B's tracks used (the ones moving in most frames).
        max_frames: A's frames used, evenly spread over the window (on a grid that stays put
            as the window slides, so about this many: up to a tenth more or fewer).
        min_overlap_fraction: share of A's frames that must meet B's interpolated tracks.
        min_points: B points that must be seen by A at the best offset.
        min_score: smallest acceptable peak score (support minus violations per point).
        min_peak_margin: the peak must beat every other local maximum by this fraction of it.
        num_blocks: blocks of A's frames whose optima give the stddev.
        stddev_floor_frames: smallest stddev reported, in frames of the finer camera.
        num_groups: interleaved groups of B's tracks whose optima give the stddev too.
    """

    max_offset_s: float = 5.0
    hint_radius_s: float = 0.25
    sigma_m: float = 0.02
    max_speed_mps: float = 5.0
    max_tracks: int = 400
    max_frames: int = 80
    min_overlap_fraction: float = 0.3
    min_points: int = 200
    min_score: float = 0.05
    min_peak_margin: float = 0.2
    num_blocks: int = 6
    stddev_floor_frames: float = 0.01
    num_groups: int = 6

    @property
    def criteria(self) -> PeakCriteria:
        """When a score peak is accepted as the offset."""
        return PeakCriteria(self.min_points, self.min_score, self.min_peak_margin, self.num_blocks,
                            self.stddev_floor_frames, self.num_groups)  # fmt: skip


@dataclass(frozen=True)
class _MovingSegments:
    """B's moving track segments, ready for interpolation at any stamp.

    Only about one in seven (frame, track) segments of a window is usable (both ends moving, a
    plausible step), so the usable ones are stored flat, grouped by their first frame: scoring
    an offset then gathers just those instead of masking the full [frames, tracks] grid. They
    are stacked once for all of B's tracks (row 0) and once per interleaved group of them (row
    1 + g: tracks with index g mod n), so that offsets scored on different groups (for the
    stddev) share one vectorized pass. Built in the world frame once per camera and estimate,
    then carried into each partner's optical frame (interpolation commutes with a rigid
    transform) in float32: scoring gathers millions of them, and a tenth of a millimetre is
    far below the depth noise.
    """

    stamps_s: np.ndarray  # [K]
    first: np.ndarray  # [1 + n, K]: per row, index of frame k's first segment in the stacked arrays
    start: np.ndarray  # [S', 3]: segment start
    step: np.ndarray  # [S', 3]: segment end minus start

    @staticmethod
    def stacked(stamps_s: np.ndarray, frame: np.ndarray, track: np.ndarray, start: np.ndarray, end: np.ndarray,
                num_groups: int) -> _MovingSegments:
        """Segments [S] given by their first frame (sorted), track, start and end, stacked."""
        rows = [np.arange(len(track))] + [np.flatnonzero(track % num_groups == g) for g in range(num_groups)]
        firsts, base = [], 0
        for members in rows:
            firsts.append(base + np.searchsorted(frame[members], np.arange(len(stamps_s))))
            base += len(members)
        order = np.concatenate(rows)
        return _MovingSegments(stamps_s, np.stack(firsts), start[order], end[order] - start[order])

    @property
    def num_segments(self) -> int:
        """Segments of all tracks (row 0)."""
        return int(self.first[0, -1])

    def in_camera(self, model: PinholeCamera) -> _MovingSegments:
        """The same segments in ``model``'s optical frame, float32."""
        rotation = model.camera_from_world[:3, :3]
        start, step = model.world_to_camera(self.start), self.step @ rotation.T
        return replace(self, start=start.astype(np.float32), step=step.astype(np.float32))

    def row(self, part: Subsample) -> int:
        """Row of the segments ``part`` is scored on."""
        if part.group is None:
            return 0
        if part.group[1] != len(self.first) - 1:
            raise ValueError(f"segments are split into {len(self.first) - 1} groups, not {part.group[1]}")
        return 1 + part.group[0]


@dataclass(frozen=True)
class _TargetFrames:
    """A's frames the B points are checked against, prepared (see
    :func:`~s4_core.sync.near_surfaces.near_surface`): frame i is slot ``slots[i]`` of
    ``surface_m``."""

    stamps_s: np.ndarray  # [I]
    surface_m: np.ndarray  # [capacity, h, w, 2]: depth, and smallest valid depth of the neighbourhood (inf if none)
    slots: np.ndarray  # [I]
    history: DepthHistory


def offset_by_depth_consistency(
    tracks_b: TrackSet,
    history_b: DepthHistory,
    history_a: DepthHistory,
    config: DepthConsistencyConfig = DepthConsistencyConfig(),
    hint_s: float | None = None,
    cache: DepthTimingCache | None = None,
) -> PairOffset:
    """Offset of B relative to A (B's stamp minus A's stamp of one instant).

    Args:
        tracks_b: B's window of 3D tracks in the world frame shared with A.
        history_b: B's depth history (its static background tells moving points apart).
        history_a: A's depth history over (at least) the same window.
        config: hyperparameters.
        hint_s: current estimate of the offset, to search near it only.
        cache: prepared frames and segments, shared by the pairs of one window estimate.
    """
    cam_a, cam_b = history_a.model.name, tracks_b.camera
    period_s = finer_period_s(history_a.stamps_s, tracks_b.stamps_ns / 1e9)
    t_a_s = float(np.mean(history_a.stamps_s[[0, -1]])) if history_a.num_frames else float("nan")

    def fail(reason: str) -> PairOffset:
        return PairOffset(cam_a, cam_b, float("nan"), float("inf"), t_a_s, period_s, 0, False, reason)

    if tracks_b.xyz is None or history_a.background() is None or history_b.background() is None:
        return fail("no depth history yet")
    if cache is None:
        with DepthTimingCache() as own:
            return offset_by_depth_consistency(tracks_b, history_b, history_a, config, hint_s, own)
    target = cache.target_frames(history_a, config.max_frames)
    moving = cache.moving_segments(tracks_b, history_b, config).in_camera(target.history.model)
    if moving.num_segments == 0:
        return fail("no moving points: static scene or no shared motion")
    grid = offset_grid_s(period_s, config.max_offset_s, hint_s, config.hint_radius_s)
    found = search_offset(
        lambda offsets_s, parts: _scores(moving, target, offsets_s, config, parts), grid, len(target.stamps_s), period_s,
        config.criteria,
    )
    if not found.ok:
        return fail(found.reason)
    log.debug("%s-%s: %.5f s +- %.2f ms (score %.3f, rival %.3f)", cam_a, cam_b, found.offset_s, found.stddev_s * 1e3, found.peak, found.rival)
    return PairOffset(cam_a, cam_b, found.offset_s, found.stddev_s, t_a_s, period_s, found.points, True)


def _moving_segments(tracks: TrackSet, history: DepthHistory, config: DepthConsistencyConfig) -> _MovingSegments:
    """B's track segments in front of B's background, of the most often moving tracks (world)."""
    xyz = tracks.xyz.astype(np.float64)  # [K, N, 3]
    K, N = tracks.num_frames, tracks.num_tracks
    ok = tracks.visible & finite_points(xyz)
    to_b = history.full_model.camera_from_world[2]
    depth_b = np.nan_to_num(xyz) @ to_b[:3] + to_b[3]  # [K, N]
    moving = ok & history.is_dynamic_at(tracks.uv.reshape(-1, 2), depth_b.reshape(-1)).reshape(K, N)
    stamps_s = tracks.stamps_ns / 1e9
    dt = np.diff(stamps_s)[:, None]
    step_m = np.linalg.norm(np.diff(xyz, axis=0), axis=-1)
    with np.errstate(invalid="ignore"):
        segment_ok = moving[:-1] & moving[1:] & (step_m <= config.max_speed_mps * dt)  # [K - 1, N]
    kept = np.zeros(N, bool)
    kept[np.argsort(-segment_ok.sum(axis=0), kind="stable")[: config.max_tracks]] = True
    frame, track = np.nonzero(segment_ok & kept)  # row-major: grouped by frame
    return _MovingSegments.stacked(stamps_s, frame, track, xyz[frame, track], xyz[frame + 1, track], config.num_groups)


class DepthTimingCache:
    """What the pairs of one window estimate share: each camera's target frames (it is the
    target of each of its pairs) and its moving segments (it is the moving side of each), each
    built once.

    Scoped to one estimate: use it as a context manager, which gives the cameras' prepared
    frames (:class:`~s4_core.sync.near_surfaces.NearSurfaceTable`) back at its end. Safe to
    share between the threads that time the pairs of an estimate. An entry keeps the objects
    of its key alive, so an ``id`` in a key cannot be reused by another object.
    """

    def __init__(self) -> None:
        self._built: dict[tuple, _Slot] = {}
        self._lock = threading.Lock()
        self._leased: list[NearSurfaceTable] = []

    def __enter__(self) -> DepthTimingCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            leased, self._leased = self._leased, []
        for table in leased:
            table.release()

    def target_frames(self, history: DepthHistory, max_frames: int) -> _TargetFrames:
        """A's frames the partners' points are checked against (at most ``max_frames``, spread
        over the window)."""
        window = (history.num_frames, float(history.stamps_s[-1]) if history.num_frames else 0.0)
        key = ("target", id(history), max_frames, window)
        return self._once(key, (history,), lambda: self._prepare(history, max_frames))

    def moving_segments(self, tracks: TrackSet, history: DepthHistory, config: DepthConsistencyConfig) -> _MovingSegments:
        """``tracks``' moving segments in the world frame."""
        key = ("moving", id(tracks), id(history), config.max_speed_mps, config.max_tracks, config.num_groups)
        return self._once(key, (tracks, history), lambda: _moving_segments(tracks, history, config))

    def _prepare(self, history: DepthHistory, max_frames: int) -> _TargetFrames:
        """The target frames, in the camera's own table when this estimate can lease it."""
        table = history.surfaces
        if table.lease():
            with self._lock:
                self._leased.append(table)
        else:
            table = NearSurfaceTable()
        shape_hw = (history.model.height, history.model.width)
        index, surface, slots = table.prepare(history.first_serial, history.num_frames, history.depth, shape_hw, max_frames)
        return _TargetFrames(history.stamps_s[index], surface, slots, history)

    def _once(self, key: tuple, owners: tuple, build: Callable[[], Any]) -> Any:
        """``build()``'s result for ``key``, built by the first thread that asks; other keys
        are built concurrently meanwhile (only the same key waits)."""
        with self._lock:
            slot = self._built.setdefault(key, _Slot(owners))
        with slot.lock:
            if slot.value is None:
                slot.value = build()
            return slot.value


class _Slot:
    """One entry of a :class:`DepthTimingCache`: its value once built, the lock its builders
    take, and the objects whose ids are in its key (kept alive with it)."""

    def __init__(self, owners: tuple) -> None:
        self.lock = threading.Lock()
        self.value: Any = None
        self.owners = owners


def _scores(moving: _MovingSegments, target: _TargetFrames, offsets_s: np.ndarray, config: DepthConsistencyConfig,
            parts: Sequence[Subsample] | None = None) -> np.ndarray:
    """[G, 2]: per offset of ``offsets_s`` [G], the mean support minus violation per B point
    seen by A and the number of such points (NaN and 0 where the windows overlap too little).
    ``parts``: the frames and track group each offset is scored on (see
    :data:`~.offset_search.ScoreFn`).

    Offsets are scored together, in chunks: a scan has tens to hundreds of candidates of about
    a thousand points each, too few for one call per offset to outweigh numpy's per-call
    overhead.
    """
    parts = [Subsample()] * len(offsets_s) if parts is None else list(parts)
    every = np.arange(len(target.stamps_s))
    frame_sets = [every if part.frames is None else np.asarray(part.frames) for part in parts]
    rows = np.array([moving.row(part) for part in parts])
    offsets_s = np.asarray(offsets_s, np.float64)
    out = np.empty((len(offsets_s), 2))
    for start in range(0, len(offsets_s), _OFFSETS_PER_CHUNK):
        chunk = slice(start, start + _OFFSETS_PER_CHUNK)
        out[chunk] = _score_chunk(moving, target, offsets_s[chunk], config, frame_sets[chunk], rows[chunk])
    return out


#: Offsets scored in one vectorized pass (bounds memory: at most this many x frames x tracks points).
_OFFSETS_PER_CHUNK = 32


def _score_chunk(moving: _MovingSegments, target: _TargetFrames, offsets_s: np.ndarray, config: DepthConsistencyConfig,
                 frame_sets: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    G = len(offsets_s)
    sizes = np.array([len(f) for f in frame_sets])
    offset_of, image = np.repeat(np.arange(G), sizes), np.concatenate(frame_sets)  # (offset, A frame) pairs
    t_b = target.stamps_s[image] + offsets_s[offset_of]
    k = np.searchsorted(moving.stamps_s, t_b, side="right") - 1
    inside = (k >= 0) & (k < len(moving.stamps_s) - 1)
    overlapping = np.bincount(offset_of, weights=inside, minlength=G) >= config.min_overlap_fraction * np.maximum(sizes, 1)
    keep = np.nonzero(inside & overlapping[offset_of])[0]
    offset_of, image, k, t_b = offset_of[keep], image[keep], k[keep], t_b[keep]
    w = ((t_b - moving.stamps_s[k]) / (moving.stamps_s[k + 1] - moving.stamps_s[k])).astype(np.float32)
    at = rows[offset_of] * moving.first.shape[1] + k  # each pair's row and frame in the flat table
    begin = moving.first.ravel()[at]
    counts = moving.first.ravel()[at + 1] - begin
    pair = np.repeat(np.arange(len(k)), counts)  # which (offset, frame) pair each point belongs to
    segment = np.arange(counts.sum()) + np.repeat(begin - (np.cumsum(counts) - counts), counts)
    # [P, 3] in A's optical frame. np.take gathers rows about twice as fast as indexing.
    points = np.take(moving.step, segment, axis=0)
    points *= np.take(w, pair)[:, None]
    points += np.take(moving.start, segment, axis=0)
    x, y, z = points.T
    model = target.history.model
    (fx, skew, cx), (_, fy, cy) = model.K[:2].tolist()  # Python floats keep the arithmetic in float32
    with np.errstate(divide="ignore", invalid="ignore"):
        xn, yn = x / z, y / z  # normalized image coordinates
        u, v = np.rint(fx * xn + skew * yn + cx), np.rint(fy * yn + cy)
        in_image = (z > 1e-9) & (u >= 0) & (u < model.width) & (v >= 0) & (v < model.height)
    front = np.flatnonzero(in_image)
    slot = target.slots[image]  # of each (offset, A frame) pair
    pixel = (slot[pair[front]] * model.height + v[front].astype(np.int64)) * model.width + u[front].astype(np.int64)
    surface = np.take(target.surface_m.reshape(-1, 2), pixel, axis=0)  # [P', 2]: depth and nearest depth
    seen = np.isfinite(surface[:, 1])  # else A saw nothing around the pixel: no evidence
    zi = z[front]
    support = np.exp(-0.5 * (np.nan_to_num(np.abs(surface[:, 0] - zi), nan=np.inf) / config.sigma_m) ** 2)
    ahead = (surface[:, 1] - zi) / config.sigma_m  # > 0: in front of every surface A saw around here
    violation = 1.0 / (1.0 + np.exp(np.clip(3.0 - ahead, -50, 50)))
    owner = offset_of[pair[front]]
    used = np.bincount(owner, weights=seen, minlength=G)
    total = np.bincount(owner, weights=np.where(seen, support - violation, 0.0), minlength=G)
    score = np.where(overlapping, np.divide(total, used, out=np.zeros(G), where=used > 0), np.nan)
    return np.stack([score, used], axis=1)


def offset_by_mutual_depth_consistency(
    tracks_a: TrackSet,
    history_a: DepthHistory,
    tracks_b: TrackSet,
    history_b: DepthHistory,
    config: DepthConsistencyConfig = DepthConsistencyConfig(),
    hint_s: float | None = None,
    cache: DepthTimingCache | None = None,
) -> PairOffset:
    """B-into-A and A-into-B estimates combined (see :func:`combine_directions`)."""
    if cache is None:
        with DepthTimingCache() as own:
            return offset_by_mutual_depth_consistency(tracks_a, history_a, tracks_b, history_b, config, hint_s, own)
    forward = offset_by_depth_consistency(tracks_b, history_b, history_a, config, hint_s, cache)
    back_hint_s = None if hint_s is None else -hint_s
    backward = offset_by_depth_consistency(tracks_a, history_a, history_b, config, back_hint_s, cache)
    return combine_directions(forward, backward)
