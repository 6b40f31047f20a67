"""The St4RTrack network: DUSt3R's ``AsymmetricCroCo3DStereo`` with two DPT heads.

For an anchor image 1 and a frame j, both decoders read both views (cross-attention) and
the two heads predict, in the anchor camera's coordinates:

* head 1 (tracking): ``1X_j^1``, where the anchor's pixels are at time j;
* head 2 (reconstruction): ``1X_j^j``, where frame j's pixels are at time j.

Parameter names mirror upstream so that the official state dict loads strictly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from s4_core.st4rtrack.blocks import DecoderBlock, EncoderBlock, layer_norm
from s4_core.st4rtrack.config import St4RTrackConfig
from s4_core.st4rtrack.dpt_head import DPTPointHead
from s4_core.st4rtrack.rope import RoPE2D


@dataclass(frozen=True)
class PairPrediction:
    """Network output for B (anchor, frame j) pairs, at the network input resolution.

    Attributes:
        pts_track: head 1, anchor pixels at time j in anchor coords [B, H, W, 3].
        conf_track: head 1 confidence (>= 1 with the exp mode) [B, H, W].
        pts_recon: head 2, frame j pixels at time j in anchor coords [B, H, W, 3].
        conf_recon: head 2 confidence [B, H, W].
        anchor_tokens: encoder output of the anchor image [h, w, C_enc] (appearance features).
    """

    pts_track: Tensor
    conf_track: Tensor
    pts_recon: Tensor
    conf_recon: Tensor
    anchor_tokens: Tensor


class PatchEmbed(nn.Module):
    """Non-overlapping patch projection (upstream ``patch_embed.proj``), plus token positions."""

    def __init__(self, patch_size: int, dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Tokens [B, h*w, C] and their integer (row, column) [B, h*w, 2], row-major."""
        grid = self.proj(images)
        batch, _, rows, cols = grid.shape
        ys, xs = torch.meshgrid(
            torch.arange(rows, device=images.device), torch.arange(cols, device=images.device), indexing="ij"
        )
        pos = torch.stack((ys.flatten(), xs.flatten()), dim=-1).expand(batch, -1, -1)
        return grid.flatten(2).transpose(1, 2), pos


class St4RTrackNet(nn.Module):
    """Siamese ViT encoder, two cross-attending decoders and two DPT point heads.

    Args:
        config: architecture; :meth:`St4RTrackConfig.official` for the released weights.
    """

    def __init__(self, config: St4RTrackConfig) -> None:
        super().__init__()
        self.config = config
        self.patch_embed = PatchEmbed(config.patch_size, config.enc_embed_dim)
        rope = RoPE2D(config.rope_freq)
        self.enc_blocks = nn.ModuleList(
            EncoderBlock(config.enc_embed_dim, config.enc_num_heads, config.mlp_ratio, rope)
            for _ in range(config.enc_depth)
        )
        self.enc_norm = layer_norm(config.enc_embed_dim)
        # Upstream keeps CroCo's pre-training mask token; it is unused here but part of the weights.
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.dec_embed_dim))
        self.decoder_embed = nn.Linear(config.enc_embed_dim, config.dec_embed_dim)
        self.dec_blocks = self._decoder(config, rope)
        self.dec_blocks2 = self._decoder(config, rope)
        self.dec_norm = layer_norm(config.dec_embed_dim)
        self.downstream_head1 = DPTPointHead(config)
        self.downstream_head2 = DPTPointHead(config)
        self.apply(_init_weights)

    @staticmethod
    def _decoder(config: St4RTrackConfig, rope: RoPE2D) -> nn.ModuleList:
        return nn.ModuleList(
            DecoderBlock(config.dec_embed_dim, config.dec_num_heads, config.mlp_ratio, rope, config.norm_im2_in_dec)
            for _ in range(config.dec_depth)
        )

    def forward(self, anchor: Tensor, frames: Tensor) -> PairPrediction:
        """Predict both pointmaps for each (anchor, frame) pair.

        Args:
            anchor: anchor image normalized to [-1, 1] [1, 3, H, W] (shared) or [B, 3, H, W].
            frames: frame images normalized to [-1, 1] [B, 3, H, W].

        Returns:
            The pair prediction; H and W must be multiples of the patch size.
        """
        self._check_inputs(anchor, frames)
        batch, shared = frames.shape[0], anchor.shape[0]
        tokens, pos = self.encode(torch.cat((anchor, frames), dim=0))
        enc_anchor, enc_frames = tokens[:shared], tokens[shared:]
        pos_anchor, pos_frames = pos[:shared].expand(batch, -1, -1), pos[shared:]
        layers_anchor, layers_frames = self.decode(
            enc_anchor.expand(batch, -1, -1), pos_anchor, enc_frames, pos_frames
        )
        image_hw = (frames.shape[2], frames.shape[3])
        pts_track, conf_track = self.downstream_head1(layers_anchor, image_hw)
        pts_recon, conf_recon = self.downstream_head2(layers_frames, image_hw)
        rows, cols = image_hw[0] // self.config.patch_size, image_hw[1] // self.config.patch_size
        return PairPrediction(
            pts_track=pts_track,
            conf_track=conf_track,
            pts_recon=pts_recon,
            conf_recon=conf_recon,
            anchor_tokens=enc_anchor[0].reshape(rows, cols, -1),
        )

    def encode(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Encoder tokens [B, N, C_enc] (layer-normalized) and positions [B, N, 2]."""
        x, pos = self.patch_embed(images)
        for block in self.enc_blocks:
            x = block(x, pos)
        return self.enc_norm(x), pos

    def decode(self, enc1: Tensor, pos1: Tensor, enc2: Tensor, pos2: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Run both decoders in lock-step; each block reads the other side's previous output.

        Returns:
            Per side, [encoder tokens, block 1 output, ..., block D output (dec-normalized)].
        """
        x1, x2 = self.decoder_embed(enc1), self.decoder_embed(enc2)
        layers1, layers2 = [enc1], [enc2]
        for block1, block2 in zip(self.dec_blocks, self.dec_blocks2):
            x1, x2 = block1(x1, x2, pos1, pos2), block2(x2, x1, pos2, pos1)
            layers1.append(x1)
            layers2.append(x2)
        layers1[-1], layers2[-1] = self.dec_norm(layers1[-1]), self.dec_norm(layers2[-1])
        return layers1, layers2

    def _check_inputs(self, anchor: Tensor, frames: Tensor) -> None:
        patch = self.config.patch_size
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames must be [B, 3, H, W], got {tuple(frames.shape)}")
        if anchor.ndim != 4 or anchor.shape[0] not in (1, frames.shape[0]) or anchor.shape[1:] != frames.shape[1:]:
            raise ValueError(f"anchor must be [1 or B, 3, H, W] like frames, got {tuple(anchor.shape)}")
        if frames.shape[2] % patch or frames.shape[3] % patch:
            raise ValueError(f"image size {tuple(frames.shape[2:])} must be a multiple of {patch}")


def _init_weights(module: nn.Module) -> None:
    """Xavier for linear layers and unit LayerNorms, as in CroCo, so random models are sane."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
