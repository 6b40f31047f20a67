"""Continuing track ids across anchors.

At a new anchor the tracks that are still alive are not re-detected: their positions in the
new anchor frame become query points of the new anchor and keep their ids (a grid point that
lands within ``stitch_radius_px`` of such a track is that track). Fresh grid points are added
only where no live track already covers the grid cell, so the density of tracks stays bounded
however many anchors pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

NEW_TRACK = -1


@dataclass(frozen=True)
class AnchorQueries:
    """Query points of a new anchor and the ids they continue.

    Attributes:
        uv: query positions [N, 2] float32.
        inherited_ids: id of the track each query continues [N] int64, ``NEW_TRACK`` for fresh ones.
    """

    uv: np.ndarray
    inherited_ids: np.ndarray


def stitch_queries(
    survivor_uv: np.ndarray,
    survivor_ids: np.ndarray,
    fresh_uv: np.ndarray,
    stitch_radius_px: float,
    cover_radius_px: float,
) -> AnchorQueries:
    """Merge surviving tracks and fresh grid points into the queries of a new anchor.

    Args:
        survivor_uv: positions [M, 2] of live tracks in the new anchor frame.
        survivor_ids: their ids [M].
        fresh_uv: fresh grid points [K, 2] seeded in the new anchor frame.
        stitch_radius_px: survivors closer than this to an older survivor are duplicates (two
            tracks that converged onto one point); the older id is kept.
        cover_radius_px: a fresh point closer than this to a survivor is already covered.

    Returns:
        Survivors first (ascending id), then the fresh points that were not covered.
    """
    if survivor_uv.shape != (len(survivor_ids), 2) or fresh_uv.ndim != 2 or fresh_uv.shape[1] != 2:
        raise ValueError(f"bad shapes: survivors {survivor_uv.shape} ids {survivor_ids.shape} fresh {fresh_uv.shape}")
    order = np.argsort(survivor_ids, kind="stable")
    uv, ids = survivor_uv[order], survivor_ids[order]
    keep = np.ones(len(ids), dtype=bool)
    if len(ids) > 1:
        pairs = cKDTree(uv).query_pairs(stitch_radius_px, output_type="ndarray")
        keep[pairs.max(axis=1)] = False  # sorted by id: the larger index is the younger track
    uv, ids = uv[keep], ids[keep]
    if len(uv) and len(fresh_uv):
        dist, _ = cKDTree(uv).query(fresh_uv, distance_upper_bound=cover_radius_px)
        fresh_uv = fresh_uv[~np.isfinite(dist)]
    return AnchorQueries(
        uv=np.concatenate([uv, fresh_uv]).astype(np.float32),
        inherited_ids=np.concatenate([ids, np.full(len(fresh_uv), NEW_TRACK)]).astype(np.int64),
    )
