"""Joining the anchor segments that overlap a window into one TrackSet.

Each segment covers the frames from its anchor up to (not including) the next anchor, and
holds tracks under their global ids. A track continued across anchors appears in several
segments under one id; its rows are laid side by side. Descriptors are recomputed here for
every backend alike, so that all cameras hand the matcher the same layout: appearance from the
latest anchor that saw the track, motion from the whole window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s4_core.arrays import finite_points
from s4_core.tracking.descriptors import NUM_APPEARANCE, NUM_MOTION, motion_descriptors
from s4_core.tracks import TrackSet


@dataclass(frozen=True)
class Segment:
    """Tracks of one anchor, under global ids.

    Attributes:
        tracks: rows from the anchor to the frame before the next anchor (or the latest frame).
        appearance: appearance descriptors at the anchor [N, 6].
    """

    tracks: TrackSet
    appearance: np.ndarray


def assemble_window(camera: str, stamps_ns: np.ndarray, segments: list[Segment], min_valid_steps: int) -> TrackSet:
    """One TrackSet over the window ``stamps_ns`` [T] from chronologically ordered segments.

    Args:
        camera: camera name.
        stamps_ns: the window's frame stamps [T], strictly increasing.
        segments: segments in anchor order; rows outside the window are ignored.
        min_valid_steps: tracks with fewer steps between two consecutive valid frames are left
            out (nothing can be said about their motion).
    """
    segments = [s for s in segments if s.tracks.num_tracks]
    ids = np.unique(np.concatenate([s.tracks.track_ids for s in segments] + [np.zeros(0, np.int64)]))
    t, n = len(stamps_ns), len(ids)
    has_3d = any(s.tracks.has_3d for s in segments)
    uv = np.full((t, n, 2), np.nan, np.float32)
    visible = np.zeros((t, n), bool)
    confidence = np.zeros((t, n), np.float32)
    xyz = np.full((t, n, 3), np.nan, np.float32) if has_3d else None
    appearance = np.zeros((n, NUM_APPEARANCE), np.float32)
    world_frame = ""
    for seg in segments:
        src_rows, dst_rows = _shared_rows(seg.tracks.stamps_ns, stamps_ns)
        cols = np.searchsorted(ids, seg.tracks.track_ids)
        appearance[cols] = seg.appearance
        if len(src_rows) == 0:
            continue
        sel = np.ix_(dst_rows, cols)
        uv[sel] = seg.tracks.uv[src_rows]
        visible[sel] = seg.tracks.visible[src_rows]
        confidence[sel] = seg.tracks.confidence[src_rows]
        if seg.tracks.has_3d:
            xyz[sel] = seg.tracks.xyz[src_rows]
            world_frame = seg.tracks.world_frame
    positions = uv if xyz is None else xyz
    valid = visible & finite_points(positions)
    keep = (valid[1:] & valid[:-1]).sum(axis=0) >= min_valid_steps
    motion = motion_descriptors(positions, valid, (stamps_ns - stamps_ns[0]) * 1e-9) if t else np.zeros((n, NUM_MOTION), np.float32)
    return TrackSet(
        camera=camera,
        track_ids=ids[keep],
        stamps_ns=np.asarray(stamps_ns, np.int64),
        uv=uv[:, keep],
        visible=visible[:, keep],
        xyz=None if xyz is None else xyz[:, keep],
        descriptors=np.concatenate([appearance, motion], axis=1)[keep],
        confidence=confidence[:, keep],
        world_frame=world_frame,
    )


def _shared_rows(seg_stamps_ns: np.ndarray, window_stamps_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the segment rows that are window frames, and their window rows."""
    dst = np.searchsorted(window_stamps_ns, seg_stamps_ns)
    inside = dst < len(window_stamps_ns)
    inside[inside] = window_stamps_ns[dst[inside]] == seg_stamps_ns[inside]
    return np.flatnonzero(inside), dst[inside]
