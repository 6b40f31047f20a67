"""The synthetic scene: a textured room and a handful of moving, deforming, articulated bodies.

Body 0 is the room (static background every camera sees). The others sit in slots on a ring
around the origin and wander around their slot by less than half the gap between slots, so
they never interpenetrate: one rigid sphere, one rigid ellipsoid, one deforming ellipsoid, one
rigid box and a two-box arm joined by a hinge. Positions are in metres, the floor is ``z = 0``
and ``z`` is up. Motion time is seconds since the start of the recording.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from s4_core.synth.config import RandomStream, stream_rng
from s4_core.synth.motion import (
    BodyPose,
    HingedMotion,
    Motion,
    SmoothSignal,
    StaticMotion,
    WanderingMotion,
)
from s4_core.synth.primitives import Box, Ellipsoid, RestShape, RoomInterior
from s4_core.synth.texture import SolidTexture

#: Half extents of the room (x, y, z), metres; the floor is at z = 0.
ROOM_HALF_EXTENTS_M = np.array([5.5, 5.5, 1.6])

#: Radius of the ring of object slots around the origin, metres.
SLOT_RING_RADIUS_M = 1.5

#: Largest horizontal / vertical excursion of an object from its slot, metres.
MAX_WANDER_XY_M = 0.2
MAX_WANDER_Z_M = 0.12

#: Finest texture wavelength on the objects / on the room, metres (a few pixels at 320x240
#: from the ring of cameras, see :mod:`s4_core.synth.texture`).
OBJECT_MIN_WAVELENGTH_M = 0.06
ROOM_MIN_WAVELENGTH_M = 0.15

#: Gap kept between the lowest point of an object and the floor, metres.
FLOOR_CLEARANCE_M = 0.08


@dataclass(frozen=True)
class Body:
    """One surface of the scene.

    Attributes:
        object_id: index in the scene's body list (0 is the room).
        name: human-readable role, e.g. ``"deforming_ellipsoid"``.
        shape: rest shape, centred at the origin of its rest coordinates.
        motion: pose over time.
        texture: albedo in rest coordinates.
    """

    object_id: int
    name: str
    shape: RestShape
    motion: Motion
    texture: SolidTexture

    @property
    def is_static(self) -> bool:
        """Whether the body never moves (its hits can be cached per camera)."""
        return isinstance(self.motion, StaticMotion)


@dataclass(frozen=True)
class DirectionalLight:
    """A distant light plus ambient: ``shade = ambient + diffuse * max(0, n . towards_light)``.

    Attributes:
        towards_light: [3] unit vector from a surface towards the light.
        ambient: light reaching every surface.
        diffuse: strength of the directional part.
    """

    towards_light: np.ndarray
    ambient: float = 0.35
    diffuse: float = 0.75

    def shade(self, normals: np.ndarray) -> np.ndarray:
        """Lambertian irradiance [P] for unit normals [P, 3]."""
        return self.ambient + self.diffuse * np.clip(normals @ self.towards_light, 0.0, None)


@dataclass(frozen=True)
class Scene:
    """Bodies (``bodies[i].object_id == i``) and the light."""

    bodies: tuple[Body, ...]
    light: DirectionalLight

    def poses(self, t_s: float) -> list[BodyPose]:
        """Pose of every body at ``t_s`` seconds after the start of the recording."""
        return [body.motion.pose(t_s) for body in self.bodies]

    @property
    def static_bodies(self) -> list[Body]:
        return [body for body in self.bodies if body.is_static]

    @property
    def moving_bodies(self) -> list[Body]:
        return [body for body in self.bodies if not body.is_static]


def build_scene(seed: int) -> Scene:
    """The random scene of a seed (independent of the cameras)."""
    rng = stream_rng(seed, RandomStream.SCENE)
    bodies: list[Body] = [_room(rng)]
    slot_azimuths = 2.0 * np.pi * np.arange(5) / 5.0 + rng.uniform(0.0, 2.0 * np.pi)
    slots = iter(rng.permutation(slot_azimuths))
    for name, shape, deforming in _free_body_shapes(rng):
        motion = _wandering(rng, next(slots), shape.bounding_radius * (1.3 if deforming else 1.0), deforming)
        bodies.append(_body(rng, len(bodies), name, shape, motion))
    parent_shape = Box(np.array([0.22, 0.1, 0.08]))
    parent_motion = _wandering(rng, next(slots), 0.66, deforming=False)
    bodies.append(_body(rng, len(bodies), "arm_base", parent_shape, parent_motion))
    child_shape = Box(np.array([0.2, 0.09, 0.07]))
    hinge = HingedMotion(
        parent=parent_motion,
        pivot_in_parent=np.array([0.22, 0.0, 0.0]),
        pivot_in_child=np.array([-0.21, 0.0, 0.0]),
        axis_in_parent=np.array([0.0, 0.0, 1.0]),
        angle_rad=SmoothSignal.random(rng, 1, max_abs=1.1, freq_range_hz=(0.15, 0.6)),
    )
    bodies.append(_body(rng, len(bodies), "arm_link", child_shape, hinge))
    towards_light = np.array([0.35, -0.25, 1.0])
    return Scene(tuple(bodies), DirectionalLight(towards_light / np.linalg.norm(towards_light)))


def _room(rng: np.random.Generator) -> Body:
    pose = BodyPose(np.eye(3), np.array([0.0, 0.0, ROOM_HALF_EXTENTS_M[2]]))
    texture = SolidTexture.random(rng, ROOM_MIN_WAVELENGTH_M)
    return Body(0, "room", RoomInterior(ROOM_HALF_EXTENTS_M), StaticMotion(pose), texture)


def _free_body_shapes(rng: np.random.Generator) -> list[tuple[str, RestShape, bool]]:
    """(name, rest shape, deforming?) of the bodies that move on their own."""
    return [
        ("sphere", Ellipsoid(np.full(3, rng.uniform(0.28, 0.38))), False),
        ("ellipsoid", Ellipsoid(rng.uniform([0.34, 0.2, 0.16], [0.42, 0.26, 0.2])), False),
        ("deforming_ellipsoid", Ellipsoid(rng.uniform(0.26, 0.34, 3)), True),
        ("box", Box(rng.uniform(0.16, 0.28, 3)), False),
    ]


def _wandering(rng: np.random.Generator, azimuth: float, extent_m: float, deforming: bool) -> WanderingMotion:
    """Motion around a ring slot; ``extent_m`` bounds the body's reach from its centre."""
    height = extent_m + FLOOR_CLEARANCE_M + MAX_WANDER_Z_M + rng.uniform(0.0, 0.3)
    home = np.array([SLOT_RING_RADIUS_M * np.cos(azimuth), SLOT_RING_RADIUS_M * np.sin(azimuth), height])
    max_offset = np.array([MAX_WANDER_XY_M, MAX_WANDER_XY_M, MAX_WANDER_Z_M])
    offset = SmoothSignal.random(rng, 3, max_abs=max_offset)
    axis = rng.normal(size=3)
    return WanderingMotion(
        home=home,
        offset=offset,
        spin_axis=axis / np.linalg.norm(axis),
        spin_rate_rad_s=float(rng.uniform(0.3, 0.9) * rng.choice([-1.0, 1.0])),
        wobble=SmoothSignal.random(rng, 3, max_abs=0.6),
        initial_rotation=Rotation.random(random_state=rng).as_matrix(),
        stretch=SmoothSignal.random(rng, 3, max_abs=0.25, freq_range_hz=(0.2, 0.7)) if deforming else None,
    )


def _body(rng: np.random.Generator, object_id: int, name: str, shape: RestShape, motion: Motion) -> Body:
    return Body(object_id, name, shape, motion, SolidTexture.random(rng, OBJECT_MIN_WAVELENGTH_M))
