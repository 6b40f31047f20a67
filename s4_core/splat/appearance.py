"""Per-camera colour response: an affine map from scene colour to each camera's pixel values.

Real cameras (and the synthetic ones) differ in exposure gain and white balance, while a
Gaussian has one colour. Without a per-camera response the model averages the cameras' colours
and every camera keeps a residual it cannot explain. The reference camera defines scene colour
(identity, not learned), so colours stay anchored; every other camera learns a 3x4 matrix
``pixel = A[:, :3] @ rgb + A[:, 3]``, initialized to the identity.
"""

from __future__ import annotations

import torch
from torch import Tensor

IDENTITY_AFFINE = torch.cat([torch.eye(3), torch.zeros(3, 1)], dim=1)  # [3, 4]


def apply_colour_affine(rgb: Tensor, affine: Tensor) -> Tensor:
    """``rgb`` [..., 3] through ``affine`` [3, 4]."""
    return rgb @ affine[:, :3].T + affine[:, 3]


def fit_colour_affine(predicted: Tensor, target: Tensor, ridge: float = 1e-6) -> Tensor:
    """Least-squares affine [3, 4] mapping ``predicted`` [P, 3] colours onto ``target`` [P, 3].

    What a held-out camera's response is when only its images can tell: evaluation fits it on
    some of that camera's frames and scores others. The small ridge keeps a grey image solvable.
    """
    X = torch.cat([predicted.double(), torch.ones_like(predicted[:, :1]).double()], dim=1)  # [P, 4]
    normal = X.T @ X + ridge * torch.eye(4, dtype=torch.float64)
    solution = torch.linalg.solve(normal, X.T @ target.double())  # [4, 3]
    return solution.T.to(predicted.dtype)
