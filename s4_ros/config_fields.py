"""The leaves of a frozen config dataclass as typed, documented, flat parameters (no rclpy).

A config such as ``StreamingConfig`` (with a nested ``QueryConfig``) becomes flat names like
``window_frames`` and ``queries.grid_step_px``. Descriptions come from the dataclass's
Google-style ``Attributes:`` docstring, so the core's documentation is the parameters'
documentation. Fields ROS parameters cannot express are left at their defaults:

- ``float | None`` is a float parameter where NaN stands for None;
- ``int | None`` is an int parameter (None cannot be chosen) unless its default is None, when
  the field is skipped;
- enums are strings (the member's value); tuples of one scalar type are arrays.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

_SCALARS = (bool, int, float, str)


@dataclass(frozen=True)
class ConfigField:
    """One leaf of a config dataclass.

    Attributes:
        name: flat parameter name (dotted path, prefix included).
        path: attribute names from the root config to the leaf.
        kind: the ROS value type: bool, int, float, str, or tuple for arrays.
        element: element type of an array (None for scalars).
        enum_type: the enum a string stands for, if any.
        optional: a float whose NaN means None.
        description: from the dataclass docstring.
        default: the leaf's default as a ROS value.
    """

    name: str
    path: tuple[str, ...]
    kind: type
    element: type | None
    enum_type: type[enum.Enum] | None
    optional: bool
    description: str
    default: Any


def config_fields(config: Any, prefix: str = "", exclude: tuple[str, ...] = ()) -> list[ConfigField]:
    """Every parameter-expressible leaf of the dataclass instance ``config``, except the leaves
    named in ``exclude`` (without the prefix)."""
    return [f for f in _walk(config, prefix, ()) if ".".join(f.path) not in exclude]


def to_ros_value(field: ConfigField, value: Any) -> Any:
    """A dataclass value as the ROS parameter value of ``field``."""
    if value is None:
        return math.nan
    if field.enum_type is not None:
        return value.value
    if field.kind is tuple:
        return [field.element(v) for v in value]
    return field.kind(value)


def from_ros_value(field: ConfigField, value: Any) -> Any:
    """A ROS parameter value as the dataclass value of ``field`` (may raise ValueError)."""
    if field.optional and isinstance(value, float) and math.isnan(value):
        return None
    if field.enum_type is not None:
        try:
            return field.enum_type(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in field.enum_type)
            raise ValueError(f"{field.name}: {value!r} is not one of {choices}") from None
    if field.kind is tuple:
        return () if value is None else tuple(field.element(v) for v in value)  # None: an unset empty array
    return value


def build_config(default: Any, fields: list[ConfigField], values: dict[str, Any]) -> Any:
    """``default`` with the leaves named in ``values`` (ROS values) replaced.

    Raises:
        ValueError: a value the field or the dataclass's own checks reject.
    """
    changes: dict[tuple[str, ...], Any] = {f.path: from_ros_value(f, values[f.name]) for f in fields if f.name in values}
    return _replace_nested(default, (), changes)


def attribute_docs(cls: type) -> dict[str, str]:
    """Descriptions of a class's attributes from its Google-style ``Attributes:`` section."""
    doc = inspect.getdoc(cls) or ""
    section = re.split(r"^Attributes:\s*$", doc, maxsplit=1, flags=re.MULTILINE)
    if len(section) < 2:
        return {}
    docs: dict[str, str] = {}
    current = None
    for line in section[1].splitlines():
        match = re.match(r"^    (\w+)(?: \([^)]*\))?: (.*)$", line)
        if match:
            current = match.group(1)
            docs[current] = match.group(2).strip()
        elif current and line.startswith("        "):
            docs[current] += " " + line.strip()
        elif line.strip() and not line.startswith(" "):
            break  # the next section (e.g. "Example:")
    return docs


def _walk(config: Any, prefix: str, path: tuple[str, ...]):
    cls = type(config)
    hints = typing.get_type_hints(cls)
    docs = attribute_docs(cls)
    for f in dataclasses.fields(cls):
        value = getattr(config, f.name)
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from _walk(value, f"{name}.", path + (f.name,))
            continue
        leaf = _leaf(name, path + (f.name,), hints[f.name], value, docs.get(f.name, ""))
        if leaf is not None:
            yield leaf


def _leaf(name: str, path: tuple[str, ...], hint: Any, value: Any, description: str) -> ConfigField | None:
    args = typing.get_args(hint)
    optional = _is_union(hint) and type(None) in args
    if optional:
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1 or (value is None and inner[0] is not float):
            return None
        hint = inner[0]
    enum_type = hint if isinstance(hint, type) and issubclass(hint, enum.Enum) else None
    if enum_type is not None:
        kind, element = str, None
    elif typing.get_origin(hint) is tuple:
        element_types = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if len(element_types) != 1 or next(iter(element_types)) not in _SCALARS:
            return None
        kind, element = tuple, next(iter(element_types))
    elif hint in _SCALARS:
        kind, element = hint, None
    else:
        return None
    field = ConfigField(name, path, kind, element, enum_type, optional and kind is float, description, None)
    return dataclasses.replace(field, default=to_ros_value(field, value))


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _replace_nested(config: Any, path: tuple[str, ...], changes: dict[tuple[str, ...], Any]) -> Any:
    own = {p[len(path)]: v for p, v in changes.items() if len(p) == len(path) + 1 and p[: len(path)] == path}
    nested_names = {p[len(path)] for p in changes if len(p) > len(path) + 1 and p[: len(path)] == path}
    for attr in nested_names:
        own[attr] = _replace_nested(getattr(config, attr), path + (attr,), changes)
    return dataclasses.replace(config, **own) if own else config


@dataclass(frozen=True)
class ParameterGroup:
    """A config dataclass a node exposes as parameters, and how.

    Nodes keep their groups in a module-level tuple, so the node, its tests and the launch-file
    checks all read the same table of parameter names.

    Attributes:
        default: the config whose values are the defaults.
        prefix: prepended to the leaf names (``"tracking."``).
        ranges: inclusive bounds by leaf name without the prefix.
        read_only: fixed after start-up (topics, names, QoS).
        exclude: leaves the node sets itself (e.g. the reference camera, from the rig file).
    """

    default: Any
    prefix: str = ""
    ranges: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    read_only: bool = False
    exclude: tuple[str, ...] = ()

    def fields(self) -> list[ConfigField]:
        """The parameters of this group."""
        return config_fields(self.default, self.prefix, self.exclude)

    def names(self) -> list[str]:
        """The parameter names of this group."""
        return [f.name for f in self.fields()]
