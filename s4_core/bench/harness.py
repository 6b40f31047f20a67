"""Benchmark rows, suites and the table they print.

A suite is a function ``suite(ctx: BenchContext) -> list[BenchRow]`` registered in
:data:`s4_core.bench.suites.SUITES`. Targets are stated beside the figures, so the table
says at a glance where the project meets its goals; unit tests never time anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchRow:
    """One measured figure.

    Attributes:
        name: what was measured, e.g. ``"synth render throughput"``.
        value: the figure.
        unit: its unit, e.g. ``"frames/s"``.
        scene: what it was measured on, e.g. ``"4 cams 320x240 seed 0"``.
        target: the goal as text (``"> 120"``), empty when there is none.
        met: whether the target is met; None when there is none.
    """

    name: str
    value: float
    unit: str
    scene: str
    target: str = ""
    met: bool | None = None


@dataclass(frozen=True)
class BenchContext:
    """What every suite may read: a quick flag for CI-sized runs and a seed."""

    quick: bool = False
    seed: int = 0


def at_least(value: float, bound: float) -> tuple[str, bool]:
    """Target text and verdict for ``value >= bound``."""
    return f">= {bound:g}", bool(value >= bound)


def at_most(value: float, bound: float) -> tuple[str, bool]:
    """Target text and verdict for ``value <= bound``."""
    return f"<= {bound:g}", bool(value <= bound)


def format_table(rows: list[BenchRow]) -> str:
    """Rows as an aligned plain-text table."""
    header = ("figure", "value", "unit", "target", "met", "scene")
    body = [
        (
            r.name,
            _format_value(r.value),
            r.unit,
            r.target,
            "" if r.met is None else ("yes" if r.met else "NO"),
            r.scene,
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(rows: list[BenchRow], path: Path) -> None:
    """Rows as a JSON list of objects (NaN becomes null)."""
    data = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(r).items()} for r in rows]
    path.write_text(json.dumps(data, indent=2) + "\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100 or value == int(value):
        return f"{value:.1f}"
    return f"{value:.4g}"
