"""The rig file: which cameras exist, where their topics are, and where they sit.

One YAML file is the single source of truth for a rig; launch files spawn one tracker per
camera from it and the sync, splat and all-in-one nodes read it through their ``rig_file``
parameter::

    reference_camera: cam0          # optional, defaults to the first camera
    world_frame: world              # optional
    cameras:
      - name: cam0
        image_topic: /cam0/image_raw
        info_topic: /cam0/camera_info
        depth_topic: /cam0/depth/image_raw   # optional
        compressed: false                    # optional: image_topic carries CompressedImage
        world_from_camera: [16 numbers, row-major 4x4]   # optional extrinsics
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class RigCamera:
    """One camera of the rig.

    Attributes:
        name: camera name; also a ROS name token, so letters, digits and underscores.
        image_topic: topic of its images.
        info_topic: topic of its CameraInfo.
        depth_topic: topic of an aligned depth image, "" for none.
        compressed: the image topic carries ``sensor_msgs/CompressedImage``.
        world_from_camera: extrinsics [4, 4], or None when unknown.
    """

    name: str
    image_topic: str
    info_topic: str
    depth_topic: str = ""
    compressed: bool = False
    world_from_camera: np.ndarray | None = None


@dataclass(frozen=True)
class Rig:
    """All cameras of the rig.

    Attributes:
        cameras: the cameras, in file order.
        reference_camera: the camera whose clock is reference time.
        world_frame: frame id of the extrinsics.
    """

    cameras: tuple[RigCamera, ...]
    reference_camera: str
    world_frame: str = "world"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def camera(self, name: str) -> RigCamera:
        for camera in self.cameras:
            if camera.name == name:
                return camera
        raise KeyError(f"no camera {name!r} in the rig (cameras: {', '.join(self.names)})")


def load_rig(path: str | Path) -> Rig:
    """Read and check a rig file.

    Raises:
        ValueError: a missing or malformed entry, naming it.
    """
    data = yaml.safe_load(Path(path).read_text()) or {}
    entries = data.get("cameras") or []
    if not entries:
        raise ValueError(f"{path}: no cameras listed")
    cameras = tuple(_camera(entry, f"{path}: camera {i}") for i, entry in enumerate(entries))
    names = [c.name for c in cameras]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: camera names must be unique, got {names}")
    reference = str(data.get("reference_camera", names[0]))
    if reference not in names:
        raise ValueError(f"{path}: reference_camera {reference!r} is not one of {names}")
    return Rig(cameras, reference, str(data.get("world_frame", "world")))


def _camera(entry: dict, where: str) -> RigCamera:
    for key in ("name", "image_topic", "info_topic"):
        if not entry.get(key):
            raise ValueError(f"{where}: missing {key!r}")
    name = str(entry["name"])
    if not _NAME.match(name):
        raise ValueError(f"{where}: camera name {name!r} must be letters, digits and underscores")
    extrinsics = entry.get("world_from_camera")
    if extrinsics is not None:
        extrinsics = np.asarray(extrinsics, dtype=np.float64)
        if extrinsics.size != 16:
            raise ValueError(f"{where}: world_from_camera needs 16 numbers, got {extrinsics.size}")
        extrinsics = extrinsics.reshape(4, 4)
    return RigCamera(
        name=name,
        image_topic=str(entry["image_topic"]),
        info_topic=str(entry["info_topic"]),
        depth_topic=str(entry.get("depth_topic") or ""),
        compressed=bool(entry.get("compressed", False)),
        world_from_camera=extrinsics,
    )
