"""DPT prediction head of DUSt3R: four decoder layers fused into a dense pointmap + confidence.

Module attribute names follow upstream (``dpt.act_postprocess``, ``dpt.scratch.layerN_rn``,
``dpt.scratch.refinenetN.resConfUnitM``, ``dpt.head``) because they are the checkpoint keys.
Upstream also registers ``scratch.layer_rn`` as a list *aliasing* ``layer1_rn..layer4_rn``; we
keep the alias so the state dict has the same 4 duplicate entries per head as the release.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from s4_core.st4rtrack.config import St4RTrackConfig


def _conv3x3(in_ch: int, out_ch: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=bias)


def _upsample2x(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class ResidualConvUnit(nn.Module):
    """ReLU-conv-ReLU-conv with a skip connection."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(channels, channels)
        self.conv2 = _conv3x3(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FeatureFusionBlock(nn.Module):
    """Adds a refined skip feature to the coarser path, refines, upsamples 2x and mixes (1x1)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_conv = nn.Conv2d(channels, channels, kernel_size=1)
        self.resConfUnit1 = ResidualConvUnit(channels)
        self.resConfUnit2 = ResidualConvUnit(channels)

    def forward(self, path: Tensor, skip: Tensor | None = None) -> Tensor:
        if skip is not None:
            path = path + self.resConfUnit1(skip)
        return self.out_conv(_upsample2x(self.resConfUnit2(path)))


def _reassemble_layers(token_dims: list[int], layer_dims: tuple[int, ...]) -> nn.ModuleList:
    """1x1 projections plus resampling to 4x, 2x, 1x and 1/2x of the token grid."""
    d1, d2, d3, d4 = layer_dims
    return nn.ModuleList(
        [
            nn.Sequential(nn.Conv2d(token_dims[0], d1, 1), nn.ConvTranspose2d(d1, d1, kernel_size=4, stride=4)),
            nn.Sequential(nn.Conv2d(token_dims[1], d2, 1), nn.ConvTranspose2d(d2, d2, kernel_size=2, stride=2)),
            nn.Sequential(nn.Conv2d(token_dims[2], d3, 1)),
            nn.Sequential(nn.Conv2d(token_dims[3], d4, 1), nn.Conv2d(d4, d4, kernel_size=3, stride=2, padding=1)),
        ]
    )


class _Scratch(nn.Module):
    """Container named ``scratch`` upstream: per-level projections and the fusion blocks."""

    def __init__(self, layer_dims: tuple[int, ...], features: int) -> None:
        super().__init__()
        self.layer1_rn = _conv3x3(layer_dims[0], features, bias=False)
        self.layer2_rn = _conv3x3(layer_dims[1], features, bias=False)
        self.layer3_rn = _conv3x3(layer_dims[2], features, bias=False)
        self.layer4_rn = _conv3x3(layer_dims[3], features, bias=False)
        self.layer_rn = nn.ModuleList([self.layer1_rn, self.layer2_rn, self.layer3_rn, self.layer4_rn])
        self.refinenet1 = FeatureFusionBlock(features)
        self.refinenet2 = FeatureFusionBlock(features)
        self.refinenet3 = FeatureFusionBlock(features)
        self.refinenet4 = FeatureFusionBlock(features)


class DPTAdapter(nn.Module):
    """Reassemble, fuse and regress ``out_channels`` maps at full input resolution."""

    def __init__(self, config: St4RTrackConfig, out_channels: int) -> None:
        super().__init__()
        self.hooks = config.dpt_hooks
        self.patch_size = config.patch_size
        features = config.dpt_feature_dim
        token_dims = [config.enc_embed_dim] + [config.dec_embed_dim] * 3
        self.scratch = _Scratch(config.dpt_layer_dims, features)
        self.head = nn.Sequential(
            _conv3x3(features, features // 2),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
            _conv3x3(features // 2, config.dpt_last_dim),
            nn.ReLU(),
            nn.Conv2d(config.dpt_last_dim, out_channels, kernel_size=1),
        )
        self.act_postprocess = _reassemble_layers(token_dims, config.dpt_layer_dims)

    def forward(self, layer_tokens: list[Tensor], image_hw: tuple[int, int]) -> Tensor:
        """Dense map [B, out_channels, H, W] from the hooked token lists [B, N, C_i]."""
        rows, cols = image_hw[0] // self.patch_size, image_hw[1] // self.patch_size
        maps = []
        for level, hook in enumerate(self.hooks):
            tokens = layer_tokens[hook]
            grid = tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], rows, cols)
            maps.append(self.scratch.layer_rn[level](self.act_postprocess[level](grid)))
        # The stride-2 level rounds up on odd grids: crop its upsampled path back to the grid.
        path = self.scratch.refinenet4(maps[3])[:, :, : maps[2].shape[2], : maps[2].shape[3]]
        path = self.scratch.refinenet3(path, maps[2])
        path = self.scratch.refinenet2(path, maps[1])
        path = self.scratch.refinenet1(path, maps[0])
        return self.head(path)


class DPTPointHead(nn.Module):
    """DUSt3R's ``PixelwiseTaskWithDPT``: 3D points + confidence per pixel."""

    def __init__(self, config: St4RTrackConfig) -> None:
        super().__init__()
        self.depth_mode = config.depth_mode
        self.conf_mode = config.conf_mode
        self.dpt = DPTAdapter(config, out_channels=4)

    def forward(self, layer_tokens: list[Tensor], image_hw: tuple[int, int]) -> tuple[Tensor, Tensor]:
        """Points [B, H, W, 3] and confidence [B, H, W]."""
        raw = self.dpt(layer_tokens, image_hw).permute(0, 2, 3, 1)
        return activate_points(raw[..., :3], self.depth_mode), activate_confidence(raw[..., 3], self.conf_mode)


def activate_points(xyz: Tensor, mode: tuple[str, float, float]) -> Tensor:
    """Map raw head output [..., 3] to points: the direction is kept, the norm is remapped."""
    name = mode[0]
    if name == "linear":
        return xyz
    norm = xyz.norm(dim=-1, keepdim=True)
    direction = xyz / norm.clamp(min=1e-8)
    if name == "square":
        return direction * norm.square()
    return direction * torch.expm1(norm)


def activate_confidence(raw: Tensor, mode: tuple[str, float, float]) -> Tensor:
    """Map raw head output [...] to a confidence in [min, max] (``exp``: 1 + e^x upstream)."""
    name, low, high = mode
    if name == "sigmoid":
        return (high - low) * torch.sigmoid(raw) + low
    return low + raw.exp().clamp(max=high - low)
