"""Track correspondences between two cameras, the matcher's output."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Correspondences:
    """Matched tracks of a camera pair.

    Attributes:
        cam_a: first camera name.
        cam_b: second camera name.
        ids_a: track ids in ``cam_a`` [K] int64.
        ids_b: track ids in ``cam_b`` [K] int64, ``ids_a[k]`` matches ``ids_b[k]``.
        weight: match confidence in [0, 1] [K] float32.
        cost: transport cost of the plan the matches came from (lower is better).
    """

    cam_a: str
    cam_b: str
    ids_a: np.ndarray
    ids_b: np.ndarray
    weight: np.ndarray
    cost: float

    def __post_init__(self) -> None:
        if not (len(self.ids_a) == len(self.ids_b) == len(self.weight)):
            raise ValueError(
                f"ids_a, ids_b and weight must have one length, got "
                f"{len(self.ids_a)}, {len(self.ids_b)}, {len(self.weight)}"
            )

    def __len__(self) -> int:
        return len(self.ids_a)
