"""St4RTrackNet against the official AsymmetricCroCo3DStereo layout, and forward invariants."""

import math

import pytest
import torch

from s4_core.st4rtrack import St4RTrackConfig, St4RTrackNet
from s4_core.st4rtrack.dpt_head import activate_confidence, activate_points
from s4_core.st4rtrack.rope import RoPE2D

torch.set_num_threads(2)

# Official key names and shapes, read off dust3r/model.py, croco/models/{croco,blocks,dpt_block}.py
# and dust3r/heads/dpt_head.py of the St4RTrack release for the args string
# AsymmetricCroCo3DStereo(pos_embed='RoPE100', patch_embed_cls='ManyAR_PatchEmbed', img_size=(512, 288),
#   head_type='dpt', output_mode='pts3d', depth_mode=('exp', -inf, inf), conf_mode=('exp', 1, inf),
#   enc_embed_dim=1024, enc_depth=24, enc_num_heads=16, dec_embed_dim=768, dec_depth=12, dec_num_heads=12)
OFFICIAL_KEYS = {
    "mask_token": (1, 1, 768),
    "patch_embed.proj.weight": (1024, 3, 16, 16),
    "patch_embed.proj.bias": (1024,),
    "enc_blocks.0.norm1.weight": (1024,),
    "enc_blocks.0.norm1.bias": (1024,),
    "enc_blocks.0.attn.qkv.weight": (3072, 1024),
    "enc_blocks.0.attn.qkv.bias": (3072,),
    "enc_blocks.0.attn.proj.weight": (1024, 1024),
    "enc_blocks.0.attn.proj.bias": (1024,),
    "enc_blocks.0.norm2.weight": (1024,),
    "enc_blocks.0.mlp.fc1.weight": (4096, 1024),
    "enc_blocks.0.mlp.fc1.bias": (4096,),
    "enc_blocks.0.mlp.fc2.weight": (1024, 4096),
    "enc_blocks.0.mlp.fc2.bias": (1024,),
    "enc_blocks.23.mlp.fc2.weight": (1024, 4096),
    "enc_norm.weight": (1024,),
    "enc_norm.bias": (1024,),
    "decoder_embed.weight": (768, 1024),
    "decoder_embed.bias": (768,),
    "dec_blocks.0.norm1.weight": (768,),
    "dec_blocks.0.attn.qkv.weight": (2304, 768),
    "dec_blocks.0.attn.qkv.bias": (2304,),
    "dec_blocks.0.attn.proj.weight": (768, 768),
    "dec_blocks.0.cross_attn.projq.weight": (768, 768),
    "dec_blocks.0.cross_attn.projq.bias": (768,),
    "dec_blocks.0.cross_attn.projk.weight": (768, 768),
    "dec_blocks.0.cross_attn.projv.weight": (768, 768),
    "dec_blocks.0.cross_attn.proj.weight": (768, 768),
    "dec_blocks.0.cross_attn.proj.bias": (768,),
    "dec_blocks.0.norm2.weight": (768,),
    "dec_blocks.0.norm3.weight": (768,),
    "dec_blocks.0.norm_y.weight": (768,),
    "dec_blocks.0.norm_y.bias": (768,),
    "dec_blocks.0.mlp.fc1.weight": (3072, 768),
    "dec_blocks.0.mlp.fc2.weight": (768, 3072),
    "dec_blocks.11.mlp.fc2.bias": (768,),
    "dec_blocks2.0.attn.qkv.weight": (2304, 768),
    "dec_blocks2.0.cross_attn.projk.weight": (768, 768),
    "dec_blocks2.0.norm_y.weight": (768,),
    "dec_blocks2.11.norm3.bias": (768,),
    "dec_norm.weight": (768,),
    "dec_norm.bias": (768,),
    "downstream_head1.dpt.scratch.layer1_rn.weight": (256, 96, 3, 3),
    "downstream_head1.dpt.scratch.layer2_rn.weight": (256, 192, 3, 3),
    "downstream_head1.dpt.scratch.layer3_rn.weight": (256, 384, 3, 3),
    "downstream_head1.dpt.scratch.layer4_rn.weight": (256, 768, 3, 3),
    "downstream_head1.dpt.scratch.layer_rn.0.weight": (256, 96, 3, 3),
    "downstream_head1.dpt.scratch.layer_rn.3.weight": (256, 768, 3, 3),
    "downstream_head1.dpt.scratch.refinenet1.out_conv.weight": (256, 256, 1, 1),
    "downstream_head1.dpt.scratch.refinenet1.out_conv.bias": (256,),
    "downstream_head1.dpt.scratch.refinenet1.resConfUnit1.conv1.weight": (256, 256, 3, 3),
    "downstream_head1.dpt.scratch.refinenet1.resConfUnit1.conv1.bias": (256,),
    "downstream_head1.dpt.scratch.refinenet4.resConfUnit2.conv2.weight": (256, 256, 3, 3),
    "downstream_head1.dpt.head.0.weight": (128, 256, 3, 3),
    "downstream_head1.dpt.head.0.bias": (128,),
    "downstream_head1.dpt.head.2.weight": (128, 128, 3, 3),
    "downstream_head1.dpt.head.4.weight": (4, 128, 1, 1),
    "downstream_head1.dpt.head.4.bias": (4,),
    "downstream_head1.dpt.act_postprocess.0.0.weight": (96, 1024, 1, 1),
    "downstream_head1.dpt.act_postprocess.0.1.weight": (96, 96, 4, 4),
    "downstream_head1.dpt.act_postprocess.1.0.weight": (192, 768, 1, 1),
    "downstream_head1.dpt.act_postprocess.1.1.weight": (192, 192, 2, 2),
    "downstream_head1.dpt.act_postprocess.2.0.weight": (384, 768, 1, 1),
    "downstream_head1.dpt.act_postprocess.3.0.weight": (768, 768, 1, 1),
    "downstream_head1.dpt.act_postprocess.3.1.weight": (768, 768, 3, 3),
    "downstream_head1.dpt.act_postprocess.3.1.bias": (768,),
    "downstream_head2.dpt.scratch.layer1_rn.weight": (256, 96, 3, 3),
    "downstream_head2.dpt.scratch.layer_rn.2.weight": (256, 384, 3, 3),
    "downstream_head2.dpt.head.4.weight": (4, 128, 1, 1),
    "downstream_head2.dpt.act_postprocess.0.1.bias": (96,),
}
# Keys upstream does not have (their absence is part of the contract too).
ABSENT_KEYS = ["enc_pos_embed", "dec_pos_embed", "prediction_head.weight", "downstream_head1.dpt.act_1_postprocess.0.weight"]


@pytest.fixture(scope="module")
def official_meta_model():
    with torch.device("meta"):
        return St4RTrackNet(St4RTrackConfig.official())


def test_official_config_state_dict_matches_reference_table(official_meta_model):
    state = official_meta_model.state_dict()
    for key, shape in OFFICIAL_KEYS.items():
        assert key in state, key
        assert tuple(state[key].shape) == shape, key
    for key in ABSENT_KEYS:
        assert key not in state


def test_official_config_counts_match_release(official_meta_model):
    state = official_meta_model.state_dict()
    assert len(state) == 1009
    assert sum(p.numel() for p in official_meta_model.parameters()) == 571_171_208
    aliases = [k for k in state if ".scratch.layer_rn." in k]
    assert len(aliases) == 8
    for key in aliases:  # each alias is the very same module as scratch.layerN_rn
        head, index = key.split(".dpt.")[0], int(key.split(".")[-2])
        module = official_meta_model.get_submodule(f"{head}.dpt.scratch")
        assert module.layer_rn[index] is getattr(module, f"layer{index + 1}_rn")


def test_official_config_forward_shapes_at_512x288(official_meta_model):
    frames = torch.zeros(2, 3, 288, 512, device="meta")
    out = official_meta_model(frames[:1], frames)
    assert out.pts_track.shape == (2, 288, 512, 3)
    assert out.conf_track.shape == (2, 288, 512)
    assert out.pts_recon.shape == (2, 288, 512, 3)
    assert out.conf_recon.shape == (2, 288, 512)
    assert out.anchor_tokens.shape == (18, 32, 1024)
    assert St4RTrackConfig.official().dpt_hooks == (0, 6, 9, 12)


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return St4RTrackNet(St4RTrackConfig.small()).eval()


def test_shared_anchor_equals_repeated_anchor_and_pairs_are_independent(small_model):
    generator = torch.Generator().manual_seed(1)
    anchor = torch.rand(1, 3, 96, 128, generator=generator) * 2 - 1
    frames = torch.rand(3, 3, 96, 128, generator=generator) * 2 - 1
    with torch.no_grad():
        shared = small_model(anchor, frames)
        repeated = small_model(anchor.expand(3, -1, -1, -1), frames)
        alone = small_model(anchor, frames[1:2])
    torch.testing.assert_close(shared.pts_track, repeated.pts_track, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(shared.pts_recon[1:2], alone.pts_recon, atol=1e-5, rtol=1e-5)
    assert (shared.conf_track >= 1).all() and (shared.conf_recon >= 1).all()


def test_odd_token_grid_is_supported(small_model):
    frames = torch.zeros(1, 3, 144, 176)  # 9 x 11 patches: the stride-2 DPT level rounds up
    with torch.no_grad():
        out = small_model(frames, frames)
    assert out.pts_track.shape == (1, 144, 176, 3)


def test_rope_attention_logits_depend_only_on_relative_position():
    rope = RoPE2D(100.0)
    generator = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 1, 1, 1, 16, generator=generator)
    pos_a = torch.tensor([[[2, 5]]]), torch.tensor([[[7, 1]]])
    pos_b = torch.tensor([[[12, 9]]]), torch.tensor([[[17, 5]]])  # same offset, shifted by (10, 4)
    logit_a = (rope(q, pos_a[0]) * rope(k, pos_a[1])).sum()
    logit_b = (rope(q, pos_b[0]) * rope(k, pos_b[1])).sum()
    torch.testing.assert_close(logit_a, logit_b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rope(q, pos_a[0]).norm(), q.norm())  # a rotation


def test_head_activations_match_dust3r_postprocess():
    raw = torch.tensor([[0.0, 3.0, 4.0]])  # norm 5
    points = activate_points(raw, ("exp", -math.inf, math.inf))
    torch.testing.assert_close(points, raw / 5 * math.expm1(5.0))
    conf = activate_confidence(torch.tensor([0.0, math.log(3.0)]), ("exp", 1.0, math.inf))
    torch.testing.assert_close(conf, torch.tensor([2.0, 4.0]))


def test_config_rejects_invalid_shapes():
    with pytest.raises(ValueError, match="multiple of patch"):
        St4RTrackConfig(input_size_wh=(500, 288))
    with pytest.raises(ValueError, match="head size"):
        St4RTrackConfig(enc_embed_dim=66, enc_num_heads=3)
