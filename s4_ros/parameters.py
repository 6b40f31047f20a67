"""One call maps a node's config dataclasses onto its ROS parameters, and keeps them valid.

:class:`NodeParameters` declares one parameter per leaf of each config group (descriptions from
the dataclass docstrings, ranges from the group), reads the values given at start-up (a
``--params-file`` YAML, launch overrides) back into the dataclasses, and guards run-time updates:
an update is accepted only if rclpy's descriptor checks *and* the dataclass accept it; a
rejected one is answered with the reason, logged, and reported through ``on_reject`` (the nodes
publish it as a diagnostic).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import ParameterUninitializedException
from rclpy.node import Node
from rclpy.parameter import Parameter

from s4_ros.config_fields import ConfigField, ParameterGroup, build_config


class _BoundGroup:
    """One group's fields and ranges, keyed by full parameter name."""

    def __init__(self, group: ParameterGroup) -> None:
        self.group = group
        self.fields = group.fields()
        self.by_name = {f.name: f for f in self.fields}
        self.ranges = {f"{group.prefix}{k}": v for k, v in group.ranges.items()}
        unknown = set(self.ranges) - set(self.by_name)
        if unknown:
            raise ValueError(f"ranges given for parameters that do not exist: {sorted(unknown)}")

    def build(self, values: dict[str, Any]) -> Any:
        """The config for these parameter values (ValueError when invalid)."""
        for name, value in values.items():
            bounds = self.ranges.get(name)
            if bounds is not None and not (isinstance(value, float) and math.isnan(value)):
                if not bounds[0] <= value <= bounds[1]:
                    raise ValueError(f"{name}={value!r} is outside [{bounds[0]}, {bounds[1]}]")
        return build_config(self.group.default, self.fields, values)


class NodeParameters:
    """A node's config groups bound to its parameters.

    Attributes:
        configs: the current config of each group, keyed by the group's prefix ("" for the node's
            own settings); always configs the dataclasses accepted.
    """

    def __init__(
        self,
        node: Node,
        groups: Sequence[ParameterGroup],
        on_update: Callable[[str, Any], None] | None = None,
        on_reject: Callable[[str], None] | None = None,
    ) -> None:
        """Declare every group's parameters and read the start-up values.

        Args:
            node: the node owning the parameters.
            groups: the config groups, with distinct prefixes.
            on_update: called with (prefix, new config) for each group an accepted update changed.
            on_reject: called with the reason of a rejected run-time update.

        Raises:
            ValueError: the start-up values do not make valid configs.
        """
        self._node = node
        self._groups = {g.prefix: _BoundGroup(g) for g in groups}
        self._on_update = on_update
        self._on_reject = on_reject
        for bound in self._groups.values():
            for field in bound.fields:
                node.declare_parameter(field.name, _declared_default(field), _descriptor(field, bound, bound.group.read_only))
        self.configs: dict[str, Any] = {prefix: self._current(bound) for prefix, bound in self._groups.items()}
        node.add_pre_set_parameters_callback(self._report_invalid)
        node.add_on_set_parameters_callback(self._accept_valid)
        node.add_post_set_parameters_callback(self._apply)

    @property
    def names(self) -> list[str]:
        """Every declared parameter name."""
        return [name for bound in self._groups.values() for name in bound.by_name]

    def _current(self, bound: _BoundGroup, updates: dict[str, Any] | None = None) -> Any:
        values = {name: self._value(name) for name in bound.by_name}
        return bound.build({**values, **(updates or {})})

    def _value(self, name: str) -> Any:
        """A parameter's value; None for an array declared empty and never set (uninitialized)."""
        try:
            return self._node.get_parameter(name).value
        except ParameterUninitializedException:
            return None

    def _rejection_reason(self, parameters: list[Parameter]) -> str | None:
        """Why this update cannot be applied, or None when it can."""
        for bound in self._groups.values():
            mine = {p.name: p for p in parameters if p.name in bound.by_name}
            for p in mine.values():
                descriptor = self._node.describe_parameter(p.name)
                if p.type_.value != descriptor.type:
                    return f"{p.name}: expected {Parameter.Type(descriptor.type).name}, got {p.type_.name}"
                if descriptor.read_only:
                    return f"{p.name} is read-only (set it at start-up)"
            if mine:
                try:
                    self._current(bound, {name: p.value for name, p in mine.items()})
                except (ValueError, TypeError) as error:
                    return str(error)
        return None

    def _report_invalid(self, parameters: list[Parameter]) -> list[Parameter]:
        """Log and report a bad update before rclpy's own checks (ranges, types) can stop it."""
        reason = self._rejection_reason(parameters)
        if reason is not None:
            self._node.get_logger().warning(f"rejected parameter update: {reason}")
            if self._on_reject is not None:
                self._on_reject(reason)
        return parameters

    def _accept_valid(self, parameters: list[Parameter]) -> SetParametersResult:
        reason = self._rejection_reason(parameters)
        return SetParametersResult(successful=reason is None, reason=reason or "")

    def _apply(self, parameters: list[Parameter]) -> None:
        names = {p.name for p in parameters}
        for prefix, bound in self._groups.items():
            if names & set(bound.by_name):
                self.configs[prefix] = self._current(bound)
                self._node.get_logger().info(f"parameters updated: {', '.join(sorted(names & set(bound.by_name)))}")
                if self._on_update is not None:
                    self._on_update(prefix, self.configs[prefix])


def _descriptor(field: ConfigField, bound: _BoundGroup, read_only: bool) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(name=field.name, description=field.description, read_only=read_only)
    if field.enum_type is not None:
        descriptor.additional_constraints = "one of: " + ", ".join(str(m.value) for m in field.enum_type)
    if field.optional:
        descriptor.additional_constraints = "NaN: not set"
    bounds = bound.ranges.get(field.name)
    if bounds is not None and field.kind is float:
        descriptor.floating_point_range = [FloatingPointRange(from_value=float(bounds[0]), to_value=float(bounds[1]))]
    elif bounds is not None and field.kind is int:
        descriptor.integer_range = [IntegerRange(from_value=int(bounds[0]), to_value=int(bounds[1]), step=1)]
    return descriptor


_ARRAY_TYPES = {
    float: Parameter.Type.DOUBLE_ARRAY,
    int: Parameter.Type.INTEGER_ARRAY,
    str: Parameter.Type.STRING_ARRAY,
    bool: Parameter.Type.BOOL_ARRAY,
}


def _declared_default(field: ConfigField) -> Any:
    """The default to declare; an empty array is declared by type (its type cannot be inferred)."""
    if field.kind is tuple and not field.default:
        return _ARRAY_TYPES[field.element]
    return field.default
