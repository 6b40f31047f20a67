"""The per-stream track contract shared by every tracking backend.

A ``TrackSet`` holds the tracks of one camera over one window. ``uv`` and ``visible`` are always
present; ``xyz`` is present when the backend gives 3D (depth or a network). 3D positions live in
the stream's own world frame, named by ``world_frame``: with calibration that is the rig world,
for a monocular network it is the anchor camera's frame (own scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrackSet:
    """Dense tracks of one camera over one window.

    Attributes:
        camera: camera name.
        track_ids: unique id per track [N] int64, stable across windows for stitched tracks.
        stamps_ns: frame stamps in the camera's own clock [T] int64, strictly increasing.
        uv: pixel positions [T, N, 2] float32 (NaN where unknown).
        visible: visibility [T, N] bool.
        xyz: 3D positions [T, N, 3] float32 in ``world_frame``, or None for 2D-only tracks.
        descriptors: per-track appearance/motion features [N, D] float32 for matching.
        confidence: per-point confidence in [0, 1] [T, N] float32.
        world_frame: name of the frame ``xyz`` is expressed in ("" when ``xyz`` is None).
    """

    camera: str
    track_ids: np.ndarray
    stamps_ns: np.ndarray
    uv: np.ndarray
    visible: np.ndarray
    xyz: np.ndarray | None
    descriptors: np.ndarray
    confidence: np.ndarray
    world_frame: str = ""

    def __post_init__(self) -> None:
        T, N = len(self.stamps_ns), len(self.track_ids)
        _check_shape("uv", self.uv, (T, N, 2))
        _check_shape("visible", self.visible, (T, N))
        _check_shape("confidence", self.confidence, (T, N))
        if self.xyz is not None:
            _check_shape("xyz", self.xyz, (T, N, 3))
        if self.descriptors.ndim != 2 or self.descriptors.shape[0] != N:
            raise ValueError(f"descriptors must be [N={N}, D], got {self.descriptors.shape}")
        if T > 1 and np.any(np.diff(self.stamps_ns) <= 0):
            raise ValueError("stamps_ns must be strictly increasing")
        if len(np.unique(self.track_ids)) != N:
            raise ValueError("track_ids must be unique")

    @property
    def num_frames(self) -> int:
        return len(self.stamps_ns)

    @property
    def num_tracks(self) -> int:
        return len(self.track_ids)

    @property
    def has_3d(self) -> bool:
        return self.xyz is not None

    def select(self, index: np.ndarray) -> "TrackSet":
        """A TrackSet restricted to the tracks at ``index`` (indices or boolean mask)."""
        return TrackSet(
            camera=self.camera,
            track_ids=self.track_ids[index],
            stamps_ns=self.stamps_ns,
            uv=self.uv[:, index],
            visible=self.visible[:, index],
            xyz=None if self.xyz is None else self.xyz[:, index],
            descriptors=self.descriptors[index],
            confidence=self.confidence[:, index],
            world_frame=self.world_frame,
        )


def _check_shape(name: str, array: np.ndarray, shape: tuple[int, ...]) -> None:
    if tuple(array.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(array.shape)}")
