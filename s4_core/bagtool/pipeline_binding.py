"""The bag tool's link to the streaming pipeline: build one per recording from a config file."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

from s4_core.bagtool.sync import PipelineFactory


def pipeline_factory(config_path: Path | None = None) -> PipelineFactory:
    """A factory of :class:`s4_core.pipeline.StreamingPipeline` configured from ``config_path``.

    Raises:
        OSError: the file cannot be read.
        ValueError: it is not TOML/JSON, or names a setting the pipeline does not have.
    """
    from s4_core.pipeline import PipelineConfig, StreamingPipeline

    config = PipelineConfig() if config_path is None else dataclass_from_mapping(PipelineConfig, _load(config_path))
    return lambda cameras, reference: StreamingPipeline(config, cameras=cameras, reference_camera=reference)


def dataclass_from_mapping(cls: type, values: dict[str, Any], where: str = "config") -> Any:
    """An instance of dataclass ``cls`` with ``values`` over its defaults, nested dataclasses too.

    Lists become tuples (frozen configs hold tuples).

    Raises:
        ValueError: a key that is not a field of ``cls``, naming its path.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
    defaults = cls()
    kwargs = {}
    for name, value in values.items():
        current = getattr(defaults, name)
        if dataclasses.is_dataclass(current) and isinstance(value, dict):
            kwargs[name] = dataclass_from_mapping(type(current), value, f"{where}.{name}")
        else:
            kwargs[name] = tuple(value) if isinstance(value, list) else value
    return dataclasses.replace(defaults, **kwargs)


def _load(path: Path) -> dict[str, Any]:
    text = Path(path).read_text()
    try:
        return json.loads(text) if Path(path).suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
