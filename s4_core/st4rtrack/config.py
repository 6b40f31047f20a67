"""Architecture hyperparameters of the St4RTrack network (DUSt3R's ``AsymmetricCroCo3DStereo``).

One dataclass describes both the official 571M-parameter release and the small configurations
used by tests and benchmarks, so a small model exercises exactly the code path of the full one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

INF = math.inf


@dataclass(frozen=True)
class St4RTrackConfig:
    """Shape of the encoder, the two cross-attending decoders and the two DPT heads.

    Attributes:
        input_size_wh: network input (width, height) in pixels; the official release runs 512x288.
        patch_size: ViT patch size in pixels.
        enc_embed_dim: encoder width.
        enc_depth: number of encoder blocks.
        enc_num_heads: encoder attention heads.
        dec_embed_dim: decoder width.
        dec_depth: number of blocks in each of the two decoders.
        dec_num_heads: decoder attention heads.
        mlp_ratio: hidden width of every MLP relative to its block width.
        rope_freq: base frequency of the 2D rotary position embedding ("RoPE100" -> 100).
        norm_im2_in_dec: whether decoder blocks layer-normalize the other view's tokens.
        depth_mode: (mode, min, max) of the pointmap activation; only unbounded modes exist upstream.
        conf_mode: (mode, min, max) of the confidence activation.
        patch_embed_cls: upstream patch-embedding class name (kept for the checkpoint args string).
        dpt_feature_dim: channel width of the DPT fusion path (official 256).
        dpt_last_dim: channels of the last hidden DPT convolution (official 128).
        dpt_layer_dims: channels of the four reassembled DPT feature maps (official 96..768).
    """

    input_size_wh: tuple[int, int] = (512, 288)
    patch_size: int = 16
    enc_embed_dim: int = 1024
    enc_depth: int = 24
    enc_num_heads: int = 16
    dec_embed_dim: int = 768
    dec_depth: int = 12
    dec_num_heads: int = 12
    mlp_ratio: float = 4.0
    rope_freq: float = 100.0
    norm_im2_in_dec: bool = True
    depth_mode: tuple[str, float, float] = ("exp", -INF, INF)
    conf_mode: tuple[str, float, float] = ("exp", 1.0, INF)
    patch_embed_cls: str = "ManyAR_PatchEmbed"
    dpt_feature_dim: int = 256
    dpt_last_dim: int = 128
    dpt_layer_dims: tuple[int, int, int, int] = (96, 192, 384, 768)

    def __post_init__(self) -> None:
        width, height = self.input_size_wh
        if width % self.patch_size or height % self.patch_size:
            raise ValueError(f"input {width}x{height} must be a multiple of patch size {self.patch_size}")
        for name, dim, heads in (
            ("encoder", self.enc_embed_dim, self.enc_num_heads),
            ("decoder", self.dec_embed_dim, self.dec_num_heads),
        ):
            # RoPE splits each head into a y and an x half, each rotated in pairs of channels.
            if dim % heads or (dim // heads) % 4:
                raise ValueError(f"{name} width {dim} / {heads} heads must give a head size divisible by 4")
        if self.dec_depth < 2:
            raise ValueError("the DPT heads hook four decoder layers: dec_depth must be >= 2")
        # Upstream only implements unbounded pointmap activations.
        if self.depth_mode[0] not in ("exp", "square", "linear") or self.depth_mode[1:] != (-INF, INF):
            raise ValueError(f"unsupported depth_mode {self.depth_mode}")
        if self.conf_mode[0] not in ("exp", "sigmoid"):
            raise ValueError(f"unsupported conf_mode {self.conf_mode}")

    @classmethod
    def official(cls) -> "St4RTrackConfig":
        """The released St4RTrack model: ViT-L encoder, two ViT-B decoders, DPT heads, 512x288."""
        return cls()

    @classmethod
    def small(cls, input_size_wh: tuple[int, int] = (128, 96)) -> "St4RTrackConfig":
        """A few-MB model of the same architecture for tests, CPU benches and TTA experiments."""
        return cls(
            input_size_wh=input_size_wh,
            enc_embed_dim=64,
            enc_depth=2,
            enc_num_heads=4,
            dec_embed_dim=48,
            dec_depth=2,
            dec_num_heads=4,
            dpt_feature_dim=32,
            dpt_last_dim=16,
            dpt_layer_dims=(16, 32, 48, 64),
        )

    @property
    def dpt_hooks(self) -> tuple[int, int, int, int]:
        """Indices into [encoder output, decoder block 1, ..., decoder block D] read by DPT."""
        depth = self.dec_depth
        return (0, depth * 2 // 4, depth * 3 // 4, depth)

    @property
    def grid_hw(self) -> tuple[int, int]:
        """Token grid (rows, columns) at the input size."""
        return self.input_size_wh[1] // self.patch_size, self.input_size_wh[0] // self.patch_size
