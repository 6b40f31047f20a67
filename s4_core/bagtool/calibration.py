"""Camera models of a recording: intrinsics from CameraInfo, extrinsics from ``/tf_static``.

Extrinsics are only trusted when every calibrated camera's optical frame hangs off one TF tree:
the tracks of all cameras are then expressed in that tree's root frame, which the matcher can
use; cameras outside it (or a bag without ``/tf_static``) keep identity extrinsics and are
treated as uncalibrated in space.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from s4_core.camera import PinholeCamera

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraIntrinsics:
    """What a CameraInfo message says about one camera.

    Attributes:
        frame_id: optical frame of the camera (TF name).
        width: image width, pixels.
        height: image height, pixels.
        K: intrinsic matrix [3, 3].
    """

    frame_id: str
    width: int
    height: int
    K: np.ndarray


def intrinsics_from_camera_info(info: object) -> CameraIntrinsics | None:
    """Intrinsics of a ``sensor_msgs/CameraInfo``; None for an uncalibrated one (K all zero).

    Distortion is not modelled by :class:`PinholeCamera`; a non-zero one is logged, since the
    sync stage works on tracks and tolerates it, while splats of a distorted rig will blur.
    """
    K = np.asarray(info.k, dtype=np.float64).reshape(3, 3)
    if info.width <= 0 or info.height <= 0 or K[0, 0] <= 0 or K[1, 1] <= 0:
        return None
    if np.any(np.asarray(info.d) != 0):
        log.debug("%s: lens distortion (%s) is ignored", info.header.frame_id, info.distortion_model)
    return CameraIntrinsics(info.header.frame_id, int(info.width), int(info.height), K)


class TransformTree:
    """Static transforms ``parent <- child`` from ``tf2_msgs/TFMessage`` messages."""

    def __init__(self) -> None:
        self._parent_from_child: dict[str, tuple[str, np.ndarray]] = {}

    def add_message(self, tf_message: object) -> None:
        """Add every transform of a TFMessage (a later transform of the same child replaces it)."""
        for stamped in tf_message.transforms:
            t, q = stamped.transform.translation, stamped.transform.rotation
            T = np.eye(4)
            T[:3, :3] = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
            T[:3, 3] = (t.x, t.y, t.z)
            self._parent_from_child[stamped.child_frame_id.lstrip("/")] = (stamped.header.frame_id.lstrip("/"), T)

    def root_from_frame(self, frame: str) -> tuple[str, np.ndarray]:
        """The root of ``frame``'s tree and the transform [4, 4] from ``frame`` to it."""
        frame = frame.lstrip("/")
        T, seen = np.eye(4), {frame}
        while frame in self._parent_from_child:
            frame, parent_from_child = self._parent_from_child[frame]
            if frame in seen:
                raise ValueError(f"/tf_static has a cycle through {frame}")
            seen.add(frame)
            T = parent_from_child @ T
        return frame, T


@dataclass(frozen=True)
class RigCalibration:
    """Camera models of a rig.

    Attributes:
        cameras: per camera name its model, None where the recording has no calibration.
        world_frame: the TF root all calibrated cameras share, None when extrinsics are unknown.
    """

    cameras: dict[str, PinholeCamera | None]
    world_frame: str | None


def rig_calibration(
    names: Iterable[str], intrinsics: Mapping[str, CameraIntrinsics | None], tree: TransformTree
) -> RigCalibration:
    """Models of cameras ``names`` from their intrinsics and the static TF tree."""
    names = list(names)
    placed = {
        name: tree.root_from_frame(intrinsics[name].frame_id) for name in names if intrinsics.get(name) is not None
    }
    roots = {root for root, _ in placed.values()}
    connected = len(roots) == 1 and all(intrinsics[name].frame_id != root for name, (root, _) in placed.items())
    if placed and not connected:
        log.info("no common /tf_static tree for the cameras: extrinsics unknown")
    cameras: dict[str, PinholeCamera | None] = {}
    for name in names:
        known = intrinsics.get(name)
        if known is None:
            cameras[name] = None
            continue
        world_from_camera = placed[name][1] if connected else np.eye(4)
        cameras[name] = PinholeCamera(name, known.width, known.height, known.K, world_from_camera)
    return RigCalibration(cameras, roots.pop() if connected else None)
