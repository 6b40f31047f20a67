"""Load and save St4RTrack weights in the official formats, strictly.

* ``.pth`` / ``.pt``: a torch pickle ``{"args": ..., "model": state_dict}`` where ``args`` is the
  training ``argparse.Namespace`` whose ``model`` attribute is the constructor string (a bare
  string or a ``{"model": str}`` dict are accepted too). Loaded with ``weights_only=True``.
* ``.safetensors``: the tensors (shared DPT aliases stored once, as safetensors requires) with
  the constructor string in the file metadata under ``"args"``; a Hugging Face style
  ``config.json`` of constructor keywords next to the file is used when the metadata lacks it.

Weights cannot be downloaded in this project, so everything takes a local path.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor

from s4_core.st4rtrack.checkpoint_args import MODEL_CLASS, config_from_args, config_to_args
from s4_core.st4rtrack.config import St4RTrackConfig
from s4_core.st4rtrack.model import St4RTrackNet

log = logging.getLogger(__name__)

SAFETENSORS_ARGS_KEY = "args"
_SHOWN_KEYS = 5


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or does not match the architecture."""


def load_st4rtrack(
    path: str | Path,
    device: str | torch.device = "cpu",
    config: St4RTrackConfig | None = None,
    input_size_wh: tuple[int, int] | None = None,
) -> St4RTrackNet:
    """Build the network described by a checkpoint and load its weights strictly.

    Args:
        path: ``.pth``/``.pt`` or ``.safetensors`` file.
        device: where the model goes.
        config: overrides the architecture recorded in the file (needed when it records none).
        input_size_wh: overrides the inference resolution (args strings often say 512x512).

    Returns:
        The model in eval mode.

    Raises:
        CheckpointError: missing file, no architecture, or mismatched keys/shapes.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        state, args = _read_safetensors(path)
    else:
        state, args = _read_pth(path)
    if config is None:
        if args is None:
            raise CheckpointError(f"{path} records no model arguments: pass config=")
        try:
            config = config_from_args(args)
        except ValueError as exc:
            raise CheckpointError(f"{path}: {exc}") from exc
    if input_size_wh is not None:
        config = St4RTrackConfig(**{**config.__dict__, "input_size_wh": tuple(input_size_wh)})
    with torch.device("meta"):
        model = St4RTrackNet(config)
    load_state_strict(model, state, source=str(path))
    log.info("loaded St4RTrack weights from %s (%s)", path, config_to_args(config))
    return model.to(device).eval()


def load_state_strict(model: St4RTrackNet, state: dict[str, Tensor], source: str = "state dict") -> None:
    """Load ``state`` into ``model`` (possibly on the meta device), all keys and shapes equal.

    Names the model registers twice (upstream's DPT ``scratch.layer_rn`` aliases) may appear
    under either name only, as in safetensors files.

    Raises:
        CheckpointError: listing a few missing, unexpected or mis-shaped keys.
    """
    expected = model.state_dict()
    state = _fill_aliases(state, _alias_groups(model))
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mis_shaped = [
        f"{k} {tuple(state[k].shape)} != {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    problems = [
        f"{label} ({len(keys)}): {', '.join(keys[:_SHOWN_KEYS])}{' ...' if len(keys) > _SHOWN_KEYS else ''}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mis_shaped))
        if keys
    ]
    if problems:
        raise CheckpointError(f"{source} does not match {MODEL_CLASS}: " + "; ".join(problems))
    model.load_state_dict(state, strict=True, assign=True)


def save_official_pth(model: St4RTrackNet, path: str | Path) -> None:
    """Write ``{"args": Namespace(model=<constructor>), "model": state_dict}`` like upstream."""
    args = argparse.Namespace(model=config_to_args(model.config))
    torch.save({"args": args, "model": model.state_dict()}, Path(path))


def save_safetensors(model: St4RTrackNet, path: str | Path) -> None:
    """Write the weights (each shared tensor once) with the constructor string as metadata."""
    groups = _alias_groups(model)
    dropped = {name for group in groups for name in group[1:]}
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k not in dropped}
    save_file(state, str(path), metadata={SAFETENSORS_ARGS_KEY: config_to_args(model.config)})


def _read_pth(path: Path) -> tuple[dict[str, Tensor], str | None]:
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or unsafe pickles
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise CheckpointError(f"{path} holds no 'model' state dict")
    return checkpoint["model"], _args_string(checkpoint.get("args"))


def _args_string(args: object) -> str | None:
    if isinstance(args, str):
        return args
    if isinstance(args, dict):
        return args.get("model")
    return getattr(args, "model", None)


def _read_safetensors(path: Path) -> tuple[dict[str, Tensor], str | None]:
    with safe_open(str(path), framework="pt") as handle:
        state = {key: handle.get_tensor(key) for key in handle.keys()}
        args = (handle.metadata() or {}).get(SAFETENSORS_ARGS_KEY)
    config_json = path.with_name("config.json")
    if args is None and config_json.is_file():
        args = _args_from_config_json(config_json)
    return state, args


def _args_from_config_json(path: Path) -> str:
    """Hugging Face ``PyTorchModelHubMixin`` config: the constructor keywords as JSON."""
    kwargs = json.loads(path.read_text())
    items = ", ".join(f"{k}={_source(v)}" for k, v in kwargs.items())
    return f"{MODEL_CLASS}({items})"


def _source(value: object) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_source(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if value == float("inf"):
        return "inf"
    if value == float("-inf"):
        return "-inf"
    return repr(value)


def _alias_groups(model: torch.nn.Module) -> list[list[str]]:
    """State-dict names that refer to the same parameter, canonical (first registered) first."""
    by_param: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        by_param.setdefault(id(param), []).append(name)
    return [names for names in by_param.values() if len(names) > 1]


def _fill_aliases(state: dict[str, Tensor], groups: list[list[str]]) -> dict[str, Tensor]:
    filled = dict(state)
    for group in groups:
        present = [name for name in group if name in filled]
        for name in group:
            if present and name not in filled:
                filled[name] = filled[present[0]]
    return filled
