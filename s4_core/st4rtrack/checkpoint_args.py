"""The constructor string stored in official checkpoints, parsed without ``eval``.

DUSt3R-family checkpoints record the model as Python source, e.g.
``AsymmetricCroCo3DStereo(pos_embed='RoPE100', img_size=(512, 288), head_type='dpt', ...)``.
Upstream ``eval``s it; here the string is parsed with :mod:`ast`, only literals are accepted,
and each keyword is mapped onto :class:`St4RTrackConfig` or explicitly listed as training-only.
"""

from __future__ import annotations

import ast
import dataclasses
import logging
import math
from typing import Any

from s4_core.st4rtrack.config import St4RTrackConfig

log = logging.getLogger(__name__)

MODEL_CLASS = "AsymmetricCroCo3DStereo"

# Keywords that shape the weights, mapped to config fields (identity unless renamed).
_CONFIG_KEYWORDS = {
    "img_size": "input_size_wh",
    "patch_size": "patch_size",
    "enc_embed_dim": "enc_embed_dim",
    "enc_depth": "enc_depth",
    "enc_num_heads": "enc_num_heads",
    "dec_embed_dim": "dec_embed_dim",
    "dec_depth": "dec_depth",
    "dec_num_heads": "dec_num_heads",
    "mlp_ratio": "mlp_ratio",
    "norm_im2_in_dec": "norm_im2_in_dec",
    "depth_mode": "depth_mode",
    "conf_mode": "conf_mode",
    "patch_embed_cls": "patch_embed_cls",
    # s4 extensions so that small configurations round-trip; absent from official strings.
    "dpt_feature_dim": "dpt_feature_dim",
    "dpt_last_dim": "dpt_last_dim",
    "dpt_layer_dims": "dpt_layer_dims",
}
# Keywords that must take exactly these values for this implementation to be faithful.
_REQUIRED_VALUES = {
    "output_mode": "pts3d",
    "head_type": "dpt",
    "head_type1": "dpt",
    "arch_mode": "VanillaDust3r",
}
# Training-time switches that do not change the graph or the weight names.
_TRAINING_ONLY = {
    "freeze",
    "random_init",
    "random_init_lr_scale",
    "landscape_only",
    "mask_ratio",
    "head1_pretrained_path",
    "rope_mode",
    "seq_mode",
}
_NAMES = {"inf": math.inf, "True": True, "False": False, "None": None}


def parse_constructor(source: str) -> tuple[str, dict[str, Any]]:
    """Class name and keyword arguments of a ``Name(key=literal, ...)`` expression.

    Raises:
        ValueError: not a single call with keyword literals (positional args, code, ...).
    """
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"checkpoint args are not a constructor call: {source!r}") from exc
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise ValueError(f"checkpoint args must be 'Class(key=value, ...)', got {source!r}")
    if call.args or any(kw.arg is None for kw in call.keywords):
        raise ValueError(f"checkpoint args must use keywords only: {source!r}")
    return call.func.id, {kw.arg: _literal(kw.value) for kw in call.keywords}


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_literal(item) for item in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(f"only literals are allowed in checkpoint args, got {ast.dump(node)}")


def config_from_args(source: str) -> St4RTrackConfig:
    """Map an official constructor string onto a config (defaults fill what it leaves out).

    Raises:
        ValueError: another class, unknown keywords, or values this implementation cannot honour.
    """
    name, kwargs = parse_constructor(source)
    if name != MODEL_CLASS:
        raise ValueError(f"checkpoint is a {name}, expected {MODEL_CLASS}")
    unknown = sorted(set(kwargs) - set(_CONFIG_KEYWORDS) - set(_REQUIRED_VALUES) - _TRAINING_ONLY - {"pos_embed"})
    if unknown:
        raise ValueError(f"unknown {MODEL_CLASS} arguments: {', '.join(unknown)}")
    for key, expected in _REQUIRED_VALUES.items():
        if key in kwargs and kwargs[key] != expected:
            raise ValueError(f"{key}={kwargs[key]!r} is not supported (only {expected!r})")
    ignored = sorted(set(kwargs) & _TRAINING_ONLY)
    if ignored:
        log.debug("ignoring training-only checkpoint arguments: %s", ", ".join(ignored))
    fields = {_CONFIG_KEYWORDS[key]: value for key, value in kwargs.items() if key in _CONFIG_KEYWORDS}
    if "pos_embed" in kwargs:
        fields["rope_freq"] = _rope_freq(kwargs["pos_embed"])
    if isinstance(fields.get("input_size_wh"), int):
        fields["input_size_wh"] = (fields["input_size_wh"],) * 2
    return St4RTrackConfig(**fields)


def _rope_freq(pos_embed: str) -> float:
    if not isinstance(pos_embed, str) or not pos_embed.startswith("RoPE"):
        raise ValueError(f"pos_embed={pos_embed!r} is not supported (only 'RoPE<freq>')")
    return float(pos_embed[len("RoPE") :])


def config_to_args(config: St4RTrackConfig) -> str:
    """The official-style constructor string; s4-only keywords appear only when non-default."""
    official = St4RTrackConfig()
    parts = [
        f"pos_embed='RoPE{config.rope_freq:g}'",
        f"patch_embed_cls={config.patch_embed_cls!r}",
        f"img_size={tuple(config.input_size_wh)!r}",
        "head_type='dpt'",
        "output_mode='pts3d'",
        f"depth_mode={_mode_source(config.depth_mode)}",
        f"conf_mode={_mode_source(config.conf_mode)}",
    ]
    for key in ("enc_embed_dim", "enc_depth", "enc_num_heads", "dec_embed_dim", "dec_depth", "dec_num_heads"):
        parts.append(f"{key}={getattr(config, key)!r}")
    for field in dataclasses.fields(config):
        if field.name in ("mlp_ratio", "norm_im2_in_dec", "patch_size", "dpt_feature_dim", "dpt_last_dim", "dpt_layer_dims"):
            value = getattr(config, field.name)
            if value != getattr(official, field.name):
                parts.append(f"{field.name}={value!r}")
    return f"{MODEL_CLASS}({', '.join(parts)})"


def _mode_source(mode: tuple[str, float, float]) -> str:
    bounds = ", ".join("inf" if v == math.inf else "-inf" if v == -math.inf else repr(float(v)) for v in mode[1:])
    return f"({mode[0]!r}, {bounds})"
