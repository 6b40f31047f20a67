"""Config dataclasses <-> ROS parameters: declaration, start-up values, guarded run-time updates."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import pytest

rclpy = pytest.importorskip("rclpy")
from rclpy.exceptions import InvalidParameterValueException  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from s4_core.tracking import StreamingConfig  # noqa: E402
from s4_ros.config_fields import ParameterGroup, attribute_docs, config_fields  # noqa: E402
from s4_ros.parameters import NodeParameters  # noqa: E402


class Mode(enum.Enum):
    FAST = "fast"
    GOOD = "good"


@dataclass(frozen=True)
class Inner:
    """Nested settings.

    Attributes:
        gain: how much, with a description that goes on
            to a second line.
    """

    gain: float = 1.0


@dataclass(frozen=True)
class Toy:
    """A config like the core's.

    Attributes:
        steps: iterations.
        limit_s: optional time limit, seconds.
        mode: speed or quality.
        weights: per-channel weights.
        inner: nested block.
        never: an int that may be None but defaults to None (not expressible, skipped).
    """

    steps: int = 3
    limit_s: float | None = None
    mode: Mode = Mode.FAST
    weights: tuple[float, ...] = (1.0, 2.0)
    inner: Inner = field(default_factory=Inner)
    never: int | None = None

    def __post_init__(self) -> None:
        if self.steps > 2 * len(self.weights) + 10:
            raise ValueError(f"steps {self.steps} too many for {len(self.weights)} weights")


GROUPS = (ParameterGroup(Toy(), "toy.", {"steps": (1, 100), "inner.gain": (0.0, 10.0)}),)


@pytest.fixture
def node():
    rclpy.init()
    nodes = []

    def make(overrides=(), groups=GROUPS, **callbacks):
        n = rclpy.create_node(f"params_test_{len(nodes)}", parameter_overrides=list(overrides))
        nodes.append(n)
        return n, NodeParameters(n, groups, **callbacks)

    yield make
    for n in nodes:
        n.destroy_node()
    rclpy.shutdown()


def test_fields_flatten_nested_configs_with_docstring_descriptions():
    fields = {f.name: f for f in config_fields(Toy(), "toy.")}
    assert set(fields) == {"toy.steps", "toy.limit_s", "toy.mode", "toy.weights", "toy.inner.gain"}
    assert fields["toy.inner.gain"].description == "how much, with a description that goes on to a second line."
    assert math.isnan(fields["toy.limit_s"].default) and fields["toy.limit_s"].optional
    assert fields["toy.mode"].default == "fast"
    assert fields["toy.weights"].default == [1.0, 2.0]


def test_core_configs_are_described():
    docs = attribute_docs(StreamingConfig)
    names = {f.name for f in config_fields(StreamingConfig())}
    assert "queries.grid_step_px" in names
    assert all(f.description for f in config_fields(StreamingConfig())), "every leaf needs a description"
    assert docs["keyframe_interval_frames"].startswith("accepted frames between two anchors")


def test_startup_values_become_the_config(node):
    n, params = node([Parameter("toy.steps", value=7), Parameter("toy.mode", value="good"),
                      Parameter("toy.limit_s", value=2.5), Parameter("toy.inner.gain", value=0.5)])  # fmt: skip
    config = params.configs["toy."]
    assert config == Toy(steps=7, limit_s=2.5, mode=Mode.GOOD, inner=Inner(gain=0.5))
    descriptor = n.describe_parameter("toy.steps")
    assert (descriptor.integer_range[0].from_value, descriptor.integer_range[0].to_value) == (1, 100)
    assert "fast, good" in n.describe_parameter("toy.mode").additional_constraints


def test_invalid_startup_values_fail_loudly(node):
    with pytest.raises(InvalidParameterValueException):
        node([Parameter("toy.steps", value=0)])  # outside the declared range: rclpy refuses
    with pytest.raises(ValueError, match="'slow' is not one of fast, good"):
        node([Parameter("toy.mode", value="slow")])  # only the dataclass knows


def test_runtime_updates_are_validated_applied_and_reported(node):
    updates, rejections = [], []
    n, params = node(on_update=lambda prefix, config: updates.append((prefix, config)), on_reject=rejections.append)

    ok = n.set_parameters([Parameter("toy.inner.gain", value=4.0)])[0]
    assert ok.successful and params.configs["toy."].inner.gain == 4.0
    assert updates == [("toy.", Toy(inner=Inner(gain=4.0)))]

    cases = [
        (Parameter("toy.steps", value=500), "outside [1, 100]"),  # a range (rclpy also refuses)
        (Parameter("toy.steps", value=14.0), "expected INTEGER, got DOUBLE"),  # a type
        (Parameter("toy.steps", value=20), "steps 20 too many for 2 weights"),  # the dataclass's own check
        (Parameter("toy.mode", value="slow"), "'slow' is not one of fast, good"),
    ]
    for parameter, reason in cases:
        result = n.set_parameters([parameter])[0]
        assert not result.successful, parameter.name
        assert reason in rejections[-1], rejections[-1]
    assert len(rejections) == len(cases)
    assert params.configs["toy."] == Toy(inner=Inner(gain=4.0)), "a rejected update must not change the config"
    assert len(updates) == 1


def test_empty_array_defaults_are_typed(node):
    n, params = node(groups=(ParameterGroup(Toy(weights=()), "toy."),))
    assert params.configs["toy."].weights == ()
    assert n.set_parameters([Parameter("toy.weights", value=[0.5, 0.25])])[0].successful
    assert params.configs["toy."].weights == (0.5, 0.25)


def test_ranges_must_name_real_fields(node):
    with pytest.raises(ValueError, match="do not exist: \\['toy.stepz'\\]"):
        node(groups=(ParameterGroup(Toy(), "toy.", {"stepz": (0, 1)}),))


def test_read_only_groups_refuse_runtime_changes(node):
    rejections = []
    n, _ = node(groups=(ParameterGroup(Toy(), "toy.", read_only=True),), on_reject=rejections.append)
    assert not n.set_parameters([Parameter("toy.steps", value=4)])[0].successful
    assert rejections == ["toy.steps is read-only (set it at start-up)"]
