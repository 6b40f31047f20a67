"""Continuous-time motion of the synthetic bodies.

A body's pose maps its rest-shape coordinates ``x`` (where its texture lives) to the world:
``world = R(t) @ (s(t) * x) + p(t)``. A per-axis scale ``s`` is the simplest deformation that
keeps ray casting exact: the map is affine, so a ray stays a ray in rest coordinates with the
same parameter, and a material point keeps its rest coordinates while the body deforms.
Signals are sums of a few low-frequency sinusoids with incommensurate frequencies, so motion
is smooth but does not repeat within a recording (a repeating scene would make clock offsets
ambiguous).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class SmoothSignal:
    """``value(t) = sum_k amplitudes[k] * sin(2 pi freqs_hz[k] t + phases[k])``, per dimension.

    Attributes:
        amplitudes: [K, D] amplitude of each term per dimension.
        freqs_hz: [K] frequency of each term.
        phases: [K, D] phase of each term per dimension, radians.
    """

    amplitudes: np.ndarray
    freqs_hz: np.ndarray
    phases: np.ndarray

    @staticmethod
    def random(
        rng: np.random.Generator,
        dim: int,
        max_abs: float | np.ndarray,
        num_terms: int = 3,
        freq_range_hz: tuple[float, float] = (0.07, 0.45),
    ) -> "SmoothSignal":
        """A random signal bounded by ``max_abs`` (scalar or [D]) in each dimension: the
        amplitudes of a dimension sum to its bound."""
        weights = rng.uniform(0.3, 1.0, (num_terms, dim))
        return SmoothSignal(
            amplitudes=max_abs * weights / weights.sum(axis=0, keepdims=True),
            freqs_hz=rng.uniform(*freq_range_hz, num_terms),
            phases=rng.uniform(0.0, 2.0 * np.pi, (num_terms, dim)),
        )

    def __call__(self, t_s: float) -> np.ndarray:
        """Value [D] at time ``t_s`` (seconds since the start of the recording)."""
        angles = 2.0 * np.pi * self.freqs_hz[:, None] * t_s + self.phases
        return np.sum(self.amplitudes * np.sin(angles), axis=0)


@dataclass(frozen=True)
class BodyPose:
    """Pose and deformation of a body at one instant: ``world = R @ (scale * x) + translation``.

    Attributes:
        rotation: [3, 3] rotation matrix.
        translation: [3] metres.
        scale: [3] per-axis stretch of the rest shape (ones for a rigid body).
    """

    rotation: np.ndarray
    translation: np.ndarray
    scale: np.ndarray = field(default_factory=lambda: np.ones(3))

    def to_world(self, rest_xyz: np.ndarray) -> np.ndarray:
        """Rest-shape points [..., 3] to world points [..., 3]."""
        return (rest_xyz * self.scale) @ self.rotation.T + self.translation

    def to_rest(self, world_xyz: np.ndarray) -> np.ndarray:
        """World points [..., 3] to rest-shape points [..., 3]."""
        return ((world_xyz - self.translation) @ self.rotation) / self.scale

    def direction_to_rest(self, world_dirs: np.ndarray) -> np.ndarray:
        """World directions [..., 3] to rest coordinates; ray parameters are preserved."""
        return (world_dirs @ self.rotation) / self.scale

    def normal_to_world(self, rest_normals: np.ndarray) -> np.ndarray:
        """Unit world normals [..., 3] of rest-shape normals (inverse-transpose of the map)."""
        normals = (rest_normals / self.scale) @ self.rotation.T
        return normals / np.linalg.norm(normals, axis=-1, keepdims=True)


class Motion(Protocol):
    """Anything that gives a body's pose at a time (seconds since the recording started)."""

    def pose(self, t_s: float) -> BodyPose: ...


@dataclass(frozen=True)
class StaticMotion:
    """A body that never moves (the room)."""

    fixed_pose: BodyPose = field(default_factory=lambda: BodyPose(np.eye(3), np.zeros(3)))

    def pose(self, t_s: float) -> BodyPose:
        return self.fixed_pose


@dataclass(frozen=True)
class WanderingMotion:
    """Drift around a home position, spin about an axis, wobble, and optionally breathe.

    Attributes:
        home: [3] mean position, metres.
        offset: translation signal (D=3) around ``home``, metres.
        spin_axis: [3] unit axis of a steady spin.
        spin_rate_rad_s: spin speed, radians per second.
        wobble: rotation-vector signal (D=3), radians, applied before the spin.
        initial_rotation: [3, 3] orientation at rest.
        stretch: per-axis relative scale signal (D=3) for deforming bodies, or None if rigid.
    """

    home: np.ndarray
    offset: SmoothSignal
    spin_axis: np.ndarray
    spin_rate_rad_s: float
    wobble: SmoothSignal
    initial_rotation: np.ndarray
    stretch: SmoothSignal | None = None

    def pose(self, t_s: float) -> BodyPose:
        spin = Rotation.from_rotvec(self.spin_axis * self.spin_rate_rad_s * t_s).as_matrix()
        wobble = Rotation.from_rotvec(self.wobble(t_s)).as_matrix()
        scale = np.ones(3) if self.stretch is None else 1.0 + self.stretch(t_s)
        return BodyPose(spin @ wobble @ self.initial_rotation, self.home + self.offset(t_s), scale)


@dataclass(frozen=True)
class HingedMotion:
    """A rigid child body attached to a rigid parent by a revolute joint.

    A child point ``x`` sits at ``pivot_in_parent + R_axis(angle) @ (x - pivot_in_child)`` in
    the parent's rest coordinates.

    Attributes:
        parent: motion of the parent (must be rigid: scale one).
        pivot_in_parent: [3] joint position in parent coordinates.
        pivot_in_child: [3] joint position in child coordinates.
        axis_in_parent: [3] unit joint axis in parent coordinates.
        angle_rad: joint angle signal (D=1) around ``mean_angle_rad``.
        mean_angle_rad: joint angle at rest.
    """

    parent: Motion
    pivot_in_parent: np.ndarray
    pivot_in_child: np.ndarray
    axis_in_parent: np.ndarray
    angle_rad: SmoothSignal
    mean_angle_rad: float = 0.0

    def pose(self, t_s: float) -> BodyPose:
        parent = self.parent.pose(t_s)
        if not np.allclose(parent.scale, 1.0):
            raise ValueError("a hinge needs a rigid parent")
        angle = self.mean_angle_rad + float(self.angle_rad(t_s)[0])
        joint = Rotation.from_rotvec(self.axis_in_parent * angle).as_matrix()
        translation_in_parent = self.pivot_in_parent - joint @ self.pivot_in_child
        return BodyPose(
            rotation=parent.rotation @ joint,
            translation=parent.rotation @ translation_in_parent + parent.translation,
        )
