"""Analytic rest shapes and their ray intersections, in the shape's own coordinates.

Every shape is centred at its origin. ``intersect`` takes one ray origin (all rays of a camera
share it) and many directions and returns the ray parameter of the first hit in front of the
origin (``inf`` on a miss); directions need not be unit length, so a parameter is whatever the
caller's direction scaling makes it (z-depth, for the renderer's rays). ``normal_at`` gives the
outward (for the room: inward, towards the viewer) unit normal at surface points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

#: Hits closer than this ray parameter are ignored, so a surface never shadows itself.
MIN_RAY_PARAM = 1e-6


class RestShape(Protocol):
    """A closed surface centred at the origin of its rest coordinates."""

    @property
    def bounding_radius(self) -> float: ...

    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray: ...

    def normal_at(self, xyz: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Ellipsoid:
    """Solid ellipsoid ``sum((x / radii)^2) = 1``; a sphere when the radii are equal.

    Attributes:
        radii: [3] semi-axes, metres.
    """

    radii: np.ndarray

    @property
    def bounding_radius(self) -> float:
        return float(np.max(self.radii))

    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """First hit parameter [P] of rays ``origin [3] + lam * dirs [P, 3]``, inf on a miss."""
        o = origin / self.radii
        d = dirs / self.radii
        a = np.einsum("pi,pi->p", d, d)
        half_b = d @ o
        c = float(o @ o) - 1.0
        disc = half_b * half_b - a * c
        hit = disc >= 0.0
        root = np.sqrt(np.where(hit, disc, 0.0))
        near = (-half_b - root) / a
        far = (-half_b + root) / a
        lam = np.where(near > MIN_RAY_PARAM, near, far)
        return np.where(hit & (lam > MIN_RAY_PARAM), lam, np.inf)

    def normal_at(self, xyz: np.ndarray) -> np.ndarray:
        """Outward unit normals [..., 3] at surface points [..., 3] (gradient of the implicit)."""
        n = xyz / self.radii**2
        return n / np.linalg.norm(n, axis=-1, keepdims=True)


@dataclass(frozen=True)
class Box:
    """Solid axis-aligned box ``|x_i| <= half_extents_i``, hit from outside (slab test).

    Attributes:
        half_extents: [3] half side lengths, metres.
    """

    half_extents: np.ndarray

    @property
    def bounding_radius(self) -> float:
        return float(np.linalg.norm(self.half_extents))

    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """First hit parameter [P] of rays ``origin [3] + lam * dirs [P, 3]``, inf on a miss."""
        entry, exit_ = _slab_interval(origin, dirs, self.half_extents)
        lam = np.where(entry > MIN_RAY_PARAM, entry, exit_)
        return np.where((entry <= exit_) & (lam > MIN_RAY_PARAM), lam, np.inf)

    def normal_at(self, xyz: np.ndarray) -> np.ndarray:
        """Outward unit face normals [..., 3] at surface points [..., 3]."""
        return _face_normals(xyz, self.half_extents, outward=True)


@dataclass(frozen=True)
class RoomInterior:
    """The inside of an axis-aligned box, seen from within: floor, walls and ceiling.

    Attributes:
        half_extents: [3] half side lengths, metres.
    """

    half_extents: np.ndarray

    @property
    def bounding_radius(self) -> float:
        return float(np.linalg.norm(self.half_extents))

    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """Exit parameter [P] of rays starting inside the room (inf if the origin is outside)."""
        entry, exit_ = _slab_interval(origin, dirs, self.half_extents)
        inside = np.all(np.abs(origin) < self.half_extents)
        return np.where(inside & (exit_ > MIN_RAY_PARAM), exit_, np.inf)

    def normal_at(self, xyz: np.ndarray) -> np.ndarray:
        """Unit normals [..., 3] pointing into the room at wall points [..., 3]."""
        return _face_normals(xyz, self.half_extents, outward=False)


def _slab_interval(origin: np.ndarray, dirs: np.ndarray, half_extents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit parameters [P] of rays through the box ``|x| <= half_extents``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t_low = (-half_extents - origin) / dirs
        t_high = (half_extents - origin) / dirs
    entry = np.max(np.fmin(t_low, t_high), axis=-1)
    exit_ = np.min(np.fmax(t_low, t_high), axis=-1)
    return entry, exit_


def _face_normals(xyz: np.ndarray, half_extents: np.ndarray, outward: bool) -> np.ndarray:
    """Unit normals of the box faces the points [..., 3] lie on (the most saturated axis)."""
    ratio = xyz / half_extents
    axis = np.argmax(np.abs(ratio), axis=-1)
    sign = np.sign(np.take_along_axis(ratio, axis[..., None], axis=-1))
    normals = np.zeros(xyz.shape)
    np.put_along_axis(normals, axis[..., None], sign if outward else -sign, axis=-1)
    return normals
