"""Transformer blocks of the CroCo/DUSt3R encoder and decoders.

Attribute names (``norm1``, ``attn.qkv``, ``cross_attn.projq``, ``norm_y`` ...) are those of the
upstream modules, because they become the state-dict keys the official checkpoint uses.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from s4_core.st4rtrack.rope import RoPE2D

LAYER_NORM_EPS = 1e-6


def layer_norm(dim: int) -> nn.LayerNorm:
    """LayerNorm with the epsilon of the upstream ViTs."""
    return nn.LayerNorm(dim, eps=LAYER_NORM_EPS)


class Mlp(nn.Module):
    """Two-layer GELU MLP of a ViT block."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


def _split_heads(x: Tensor, num_heads: int) -> Tensor:
    batch, tokens, width = x.shape
    return x.reshape(batch, tokens, num_heads, width // num_heads).transpose(1, 2)


def _merge_heads(x: Tensor) -> Tensor:
    batch, heads, tokens, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, tokens, heads * head_dim)


class SelfAttention(nn.Module):
    """Multi-head self-attention with RoPE on queries and keys (fused ``qkv`` projection)."""

    def __init__(self, dim: int, num_heads: int, rope: RoPE2D) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.rope = rope

    def forward(self, x: Tensor, pos: Tensor) -> Tensor:
        q, k, v = (_split_heads(part, self.num_heads) for part in self.qkv(x).chunk(3, dim=-1))
        q, k = self.rope(q, pos), self.rope(k, pos)
        return self.proj(_merge_heads(F.scaled_dot_product_attention(q, k, v)))


class CrossAttention(nn.Module):
    """Multi-head attention from one view's tokens to the other view's tokens, with RoPE."""

    def __init__(self, dim: int, num_heads: int, rope: RoPE2D) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.projq = nn.Linear(dim, dim)
        self.projk = nn.Linear(dim, dim)
        self.projv = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.rope = rope

    def forward(self, query: Tensor, memory: Tensor, query_pos: Tensor, memory_pos: Tensor) -> Tensor:
        q = self.rope(_split_heads(self.projq(query), self.num_heads), query_pos)
        k = self.rope(_split_heads(self.projk(memory), self.num_heads), memory_pos)
        v = _split_heads(self.projv(memory), self.num_heads)
        return self.proj(_merge_heads(F.scaled_dot_product_attention(q, k, v)))


class EncoderBlock(nn.Module):
    """Pre-norm ViT block: self-attention then MLP, both residual."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, rope: RoPE2D) -> None:
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = SelfAttention(dim, num_heads, rope)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor, pos: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x), pos)
        return x + self.mlp(self.norm2(x))


class DecoderBlock(nn.Module):
    """Decoder block: self-attention, cross-attention to the other view, MLP (all residual)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, rope: RoPE2D, norm_other: bool) -> None:
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = SelfAttention(dim, num_heads, rope)
        self.cross_attn = CrossAttention(dim, num_heads, rope)
        self.norm2 = layer_norm(dim)
        self.norm3 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.norm_y = layer_norm(dim) if norm_other else nn.Identity()

    def forward(self, x: Tensor, other: Tensor, pos: Tensor, other_pos: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x), pos)
        memory = self.norm_y(other)
        x = x + self.cross_attn(self.norm2(x), memory, pos, other_pos)
        return x + self.mlp(self.norm3(x))
