"""2D rotary position embedding (RoPE) as used by CroCo/DUSt3R ("RoPE100").

Each attention head is split into a y half and an x half; each half is rotated by angles that
grow with the token's row (resp. column) index. Relative offsets between patches then appear
directly in the attention logits, which is why the network accepts any input size.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RoPE2D(nn.Module):
    """Rotary embedding over (row, column) token positions; it has no weights.

    Args:
        base_freq: frequency base of the rotation spectrum (100 for "RoPE100").
    """

    def __init__(self, base_freq: float = 100.0) -> None:
        super().__init__()
        self.base_freq = base_freq

    def forward(self, tokens: Tensor, positions: Tensor) -> Tensor:
        """Rotate queries or keys.

        Args:
            tokens: per-head features [B, heads, N, D], D divisible by 4.
            positions: integer (row, column) of each token [B, N, 2].

        Returns:
            Rotated tokens [B, heads, N, D].
        """
        y_half, x_half = tokens.chunk(2, dim=-1)
        return torch.cat(
            (self._rotate_1d(y_half, positions[..., 0]), self._rotate_1d(x_half, positions[..., 1])), dim=-1
        )

    def _rotate_1d(self, half: Tensor, pos: Tensor) -> Tensor:
        dim = half.shape[-1]
        inv_freq = 1.0 / (self.base_freq ** (torch.arange(0, dim, 2, device=half.device, dtype=torch.float32) / dim))
        angles = pos.to(torch.float32)[..., None] * inv_freq  # [B, N, dim/2]
        angles = torch.cat((angles, angles), dim=-1)[:, None].to(half.dtype)  # [B, 1, N, dim]
        first, second = half.chunk(2, dim=-1)
        rotated = torch.cat((-second, first), dim=-1)
        return half * angles.cos() + rotated * angles.sin()
