"""``visualization_msgs/MarkerArray`` builders for RViz: track polylines, scaffold splines and
splat ellipsoids. Each array starts with a DELETEALL so markers of tracks that ended vanish.
"""

from __future__ import annotations

import colorsys

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from s4_core.arrays import finite_points
from s4_core.splat.export import EllipsoidMarkers
from s4_core.tracks import TrackSet

_GOLDEN_RATIO = 0.618033988749895


def id_colour(track_id: int, alpha: float = 1.0) -> ColorRGBA:
    """A distinct, stable colour per id (hues spread by the golden ratio)."""
    r, g, b = colorsys.hsv_to_rgb((int(track_id) * _GOLDEN_RATIO) % 1.0, 0.8, 0.95)
    return ColorRGBA(r=r, g=g, b=b, a=float(alpha))


def track_polylines(
    tracks: TrackSet, header: Header, line_width_m: float = 0.01, max_tracks: int = 500, max_points_per_line: int = 48
) -> MarkerArray:
    """One LINE_STRIP per 3D track through its visible positions, coloured by track id.

    Tracks with fewer than two visible positions draw nothing; past ``max_tracks`` the longest
    tracks are kept (RViz slows down with thousands of markers). A line keeps at most
    ``max_points_per_line`` of its positions, evenly spread, first and newest included: every
    vertex is a Python message object, and an 8-s window of a 30 fps camera has 240 per track
    (building them took a sixth of the all-in-one's work thread in the 4-camera bench).
    """
    markers = [_delete_all(header, "tracks")]
    if tracks.xyz is None:
        return MarkerArray(markers=markers)
    usable = tracks.visible & finite_points(tracks.xyz)
    counts = usable.sum(axis=0)
    columns = [c for c in np.argsort(-counts, kind="stable")[:max_tracks] if counts[c] >= 2]
    for column in columns:
        track_id = int(tracks.track_ids[column])
        marker = _marker(header, "tracks", track_id, Marker.LINE_STRIP)
        marker.scale = Vector3(x=float(line_width_m))
        marker.color = id_colour(track_id)
        marker.points = _points(_evenly_spread(tracks.xyz[usable[:, column], column], max_points_per_line))
        markers.append(marker)
    return MarkerArray(markers=markers)


def scaffold_polylines(
    node_paths: np.ndarray, header: Header, line_width_m: float = 0.005, max_points_per_line: int = 48
) -> MarkerArray:
    """One LINE_STRIP per scaffold node along its spline, ``node_paths`` [Nn, S, 3].

    A line keeps at most ``max_points_per_line`` of its samples, evenly spread (see
    :func:`track_polylines`): 256 nodes sampled densely over an 8-s window were 80,000 Point
    messages per update, the largest cost of the 4-camera bench's work thread after the sync.
    """
    markers = [_delete_all(header, "scaffold")]
    for index, path in enumerate(np.asarray(node_paths)):
        finite = path[finite_points(path)]
        if len(finite) < 2:
            continue
        marker = _marker(header, "scaffold", index, Marker.LINE_STRIP)
        marker.scale = Vector3(x=float(line_width_m))
        marker.color = id_colour(index, alpha=0.8)
        marker.points = _points(_evenly_spread(finite, max_points_per_line))
        markers.append(marker)
    return MarkerArray(markers=markers)


def splat_ellipsoids(ellipsoids: EllipsoidMarkers, header: Header, max_count: int = 2000) -> MarkerArray:
    """One SPHERE per Gaussian, scaled and oriented by its covariance, coloured by its colour and
    opacity; past ``max_count`` the most opaque are kept."""
    markers = [_delete_all(header, "splats")]
    order = np.argsort(-ellipsoids.rgba[:, 3], kind="stable")[:max_count]
    for index in order:
        marker = _marker(header, "splats", int(index), Marker.SPHERE)
        (x, y, z), (qx, qy, qz, qw) = ellipsoids.centres[index], ellipsoids.orientations_xyzw[index]
        marker.pose = Pose(position=Point(x=float(x), y=float(y), z=float(z)),
                           orientation=Quaternion(x=float(qx), y=float(qy), z=float(qz), w=float(qw)))
        sx, sy, sz = np.maximum(ellipsoids.diameters[index], 1e-4)
        marker.scale = Vector3(x=float(sx), y=float(sy), z=float(sz))
        r, g, b, a = np.clip(ellipsoids.rgba[index], 0.0, 1.0)
        marker.color = ColorRGBA(r=float(r), g=float(g), b=float(b), a=float(a))
        markers.append(marker)
    return MarkerArray(markers=markers)


def _marker(header: Header, namespace: str, marker_id: int, marker_type: int) -> Marker:
    return Marker(
        header=header, ns=namespace, id=int(marker_id) % (2**31), type=marker_type, action=Marker.ADD,
        pose=Pose(orientation=Quaternion(w=1.0)), lifetime=Duration(sec=0),
    )  # fmt: skip


def _delete_all(header: Header, namespace: str) -> Marker:
    return Marker(header=header, ns=namespace, action=Marker.DELETEALL)


def _evenly_spread(rows: np.ndarray, max_rows: int) -> np.ndarray:
    """At most ``max_rows`` (>= 2) of ``rows``, evenly spread, the first and the last kept."""
    if len(rows) <= max_rows:
        return rows
    return rows[np.unique(np.linspace(0, len(rows) - 1, max_rows).round().astype(int))]


def _points(xyz: np.ndarray) -> list[Point]:
    return [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in np.asarray(xyz, dtype=np.float64)]
