"""Checkpoint formats: the official args string, .pth and safetensors round trips, clear errors."""

import argparse
import json
import math

import pytest
import torch
from safetensors.torch import load_file, save_file

from s4_core.st4rtrack import (
    CheckpointError,
    St4RTrackConfig,
    St4RTrackNet,
    config_from_args,
    config_to_args,
    load_st4rtrack,
    save_official_pth,
    save_safetensors,
)

torch.set_num_threads(2)

# As in the St4RTrack release scripts (scripts_run/eval.sh), training-only freeze= included.
RELEASE_ARGS = (
    "AsymmetricCroCo3DStereo(pos_embed='RoPE100', patch_embed_cls='ManyAR_PatchEmbed', img_size=(512, 288), "
    "head_type='dpt', output_mode='pts3d', depth_mode=('exp', -inf, inf), conf_mode=('exp', 1, inf), "
    "enc_embed_dim=1024, enc_depth=24, enc_num_heads=16, dec_embed_dim=768, dec_depth=12, dec_num_heads=12, "
    "freeze='encoder')"
)


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return St4RTrackNet(St4RTrackConfig.small())


def test_release_args_map_to_official_config():
    config = config_from_args(RELEASE_ARGS)
    assert config == St4RTrackConfig.official()
    assert config.conf_mode == ("exp", 1, math.inf)
    assert config_from_args(config_to_args(config)) == config


def test_small_config_round_trips_through_args_string():
    config = St4RTrackConfig.small()
    assert "dpt_feature_dim=32" in config_to_args(config)
    assert config_from_args(config_to_args(config)) == config
    assert "dpt_" not in config_to_args(St4RTrackConfig.official())


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("__import__('os').system('true')", "must be"),
        ("AsymmetricCroCo3DStereo(enc_depth=__import__('os'))", "only literals"),
        ("AsymmetricCroCo3DStereo(enc_depth=2, wings=3, fins=1)", "unknown .*fins, wings"),
        ("AsymmetricCroCo3DStereo(head_type='linear')", "head_type='linear' is not supported"),
        ("CroCoNet(enc_depth=2)", "expected AsymmetricCroCo3DStereo"),
        ("AsymmetricCroCo3DStereo(pos_embed='cosine')", "pos_embed"),
    ],
)
def test_unsafe_or_unknown_args_are_rejected(source, message):
    with pytest.raises(ValueError, match=message):
        config_from_args(source)


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert list(state_a) == list(state_b)
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key


def test_official_pth_round_trip_is_strict_and_keeps_aliases(small_model, tmp_path):
    path = tmp_path / "st4rtrack.pth"
    save_official_pth(small_model, path)
    raw = torch.load(path, weights_only=False)
    assert isinstance(raw["args"], argparse.Namespace) and raw["args"].model.startswith("AsymmetricCroCo3DStereo(")
    assert len(raw["model"]) == len(small_model.state_dict())
    loaded = load_st4rtrack(path)
    _assert_same_weights(small_model, loaded)
    scratch = loaded.downstream_head2.dpt.scratch
    assert scratch.layer_rn[2] is scratch.layer3_rn
    assert not loaded.training and all(p.requires_grad for p in loaded.parameters())


def test_safetensors_round_trip_stores_aliases_once(small_model, tmp_path):
    path = tmp_path / "st4rtrack.safetensors"
    save_safetensors(small_model, path)
    assert len(load_file(str(path))) == len(small_model.state_dict()) - 8
    _assert_same_weights(small_model, load_st4rtrack(path))


def test_safetensors_with_hub_config_json(small_model, tmp_path):
    """Hugging Face mixin layout: bare tensors + config.json of constructor keywords."""
    state = {k: v.contiguous() for k, v in small_model.state_dict().items() if ".layer_rn." not in k}
    save_file(state, str(tmp_path / "model.safetensors"))
    config = St4RTrackConfig.small()
    kwargs = {
        "pos_embed": "RoPE100", "img_size": [128, 96], "head_type": "dpt", "output_mode": "pts3d",
        "depth_mode": ["exp", -math.inf, math.inf], "conf_mode": ["exp", 1, math.inf], "landscape_only": False,
        "enc_embed_dim": 64, "enc_depth": 2, "enc_num_heads": 4, "dec_embed_dim": 48, "dec_depth": 2,
        "dec_num_heads": 4, "dpt_feature_dim": 32, "dpt_last_dim": 16, "dpt_layer_dims": list(config.dpt_layer_dims),
    }  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(kwargs))
    _assert_same_weights(small_model, load_st4rtrack(tmp_path / "model.safetensors"))


def test_mismatched_keys_are_listed(small_model, tmp_path):
    state = dict(small_model.state_dict())
    del state["dec_norm.weight"]
    state["extra.weight"] = torch.zeros(1)
    state["enc_norm.bias"] = torch.zeros(3)
    args = argparse.Namespace(model=config_to_args(small_model.config))
    torch.save({"args": args, "model": state}, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError) as error:
        load_st4rtrack(tmp_path / "bad.pth")
    text = str(error.value)
    assert "missing (1): dec_norm.weight" in text
    assert "unexpected (1): extra.weight" in text
    assert "enc_norm.bias (3,) != (64,)" in text


def test_other_architecture_does_not_load(small_model, tmp_path):
    save_official_pth(small_model, tmp_path / "small.pth")
    wider = St4RTrackConfig(**{**St4RTrackConfig.small().__dict__, "dec_depth": 3})
    with pytest.raises(CheckpointError, match="missing"):
        load_st4rtrack(tmp_path / "small.pth", config=wider)


def test_missing_file_and_missing_args_are_clear(small_model, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_st4rtrack(tmp_path / "nope.pth")
    torch.save({"model": small_model.state_dict()}, tmp_path / "bare.pth")
    with pytest.raises(CheckpointError, match="pass config="):
        load_st4rtrack(tmp_path / "bare.pth")
    model = load_st4rtrack(tmp_path / "bare.pth", config=St4RTrackConfig.small(), input_size_wh=(160, 96))
    assert model.config.input_size_wh == (160, 96)


def test_official_full_config_pth_loads_strictly_on_meta(tmp_path):
    """The release's 1009 keys and shapes go through the real .pth path (meta: no 2.3 GB write)."""
    with torch.device("meta"):
        official = St4RTrackNet(St4RTrackConfig.official())
    path = tmp_path / "st4rtrack_official_layout.pth"
    save_official_pth(official, path)
    assert len(torch.load(path, weights_only=False)["model"]) == 1009
    loaded = load_st4rtrack(path, device="meta")
    assert loaded.config == St4RTrackConfig.official()
    assert {k: v.shape for k, v in loaded.state_dict().items()} == {k: v.shape for k, v in official.state_dict().items()}
