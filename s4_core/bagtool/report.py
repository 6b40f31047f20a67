"""What a run tells its user: the result JSON, a summary table and a plot of the estimates.

The JSON follows the clock convention of :mod:`s4_core.clock` (``offset_s`` is stamp minus
reference capture time at ``t0_s``; the reference camera has 0), and is written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from s4_core.bagtool.sync import BagSyncResult
from s4_core.bagtool.update_writer import OffsetSample
from s4_core.clock import ns_to_seconds
from s4_core.offsets import SyncState

#: The convention stated inside every result file, for readers without the code.
CLOCK_CONVENTION = "capture_s = stamp_s - offset_s - drift_ppm * 1e-6 * (stamp_s - t0_s)"

#: Width of the uncertainty band in the plot, standard deviations either side.
PLOT_BAND_SIGMAS = 2.0


def result_dict(result: BagSyncResult) -> dict:
    """JSON-ready ``{"reference_camera", "clock_convention", "cameras": {name: {...}}}``."""
    return {
        "reference_camera": result.reference_camera,
        "clock_convention": CLOCK_CONVENTION,
        "cameras": {
            name: {
                "offset_s": offset.offset_s,
                "stddev_s": offset.stddev_s,
                "drift_ppm": offset.drift_ppm,
                "t0_s": offset.t0_s,
                "state": SyncState(offset.state).value,
                "frames": result.frames_per_camera.get(name, 0),
            }
            for name, offset in sorted(result.offsets.items())
        },
    }


def write_result_json(result: BagSyncResult, path: Path) -> None:
    """Write :func:`result_dict` to ``path`` (through a temporary sibling, then renamed)."""
    staging = path.with_name(f".{path.name}.partial")
    staging.write_text(json.dumps(result_dict(result), indent=2) + "\n")
    os.replace(staging, path)


def summary_table(result: BagSyncResult) -> str:
    """Per camera its frames, offset, uncertainty, drift and state, as an aligned text table."""
    header = ("camera", "frames", "offset_s", "stddev_ms", "drift_ppm", "state")
    rows = [
        (
            name + (" (ref)" if name == result.reference_camera else ""),
            str(result.frames_per_camera.get(name, 0)),
            f"{offset.offset_s:+.6f}",
            f"{1e3 * offset.stddev_s:.3f}",
            f"{offset.drift_ppm:+.2f}",
            SyncState(offset.state).value + (f" ({offset.reason})" if offset.reason else ""),
        )
        for name, offset in sorted(result.offsets.items())
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def plot_offsets(history: dict[str, list[OffsetSample]], reference_camera: str, path: Path) -> None:
    """Draw each camera's offset estimate over reference time with a +-2 sigma band, to a PNG.

    Initializing estimates are left out: they are not numbers to trust.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = [s for camera in history.values() for s in camera]
    origin_ns = min((s.stamp_ns for s in samples), default=0)
    figure, axes = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    for name in sorted(history):
        trusted = [s for s in history[name] if s.state != SyncState.INITIALIZING]
        if name == reference_camera or not trusted:
            continue
        t_s = [ns_to_seconds(s.stamp_ns - origin_ns) for s in trusted]
        offset_s = [s.offset_s for s in trusted]
        band_s = [PLOT_BAND_SIGMAS * s.stddev_s for s in trusted]
        (line,) = axes.plot(t_s, offset_s, marker=".", label=name)
        axes.fill_between(
            t_s, [o - b for o, b in zip(offset_s, band_s)], [o + b for o, b in zip(offset_s, band_s)],
            color=line.get_color(), alpha=0.2, linewidth=0,
        )  # fmt: skip
    axes.set_xlabel("reference time since the first estimate [s]")
    axes.set_ylabel(f"clock offset to {reference_camera} [s]")
    axes.set_title(f"offset estimates (bands: +-{PLOT_BAND_SIGMAS:g} sigma)")
    if axes.get_legend_handles_labels()[0]:
        axes.legend()
    axes.grid(True, alpha=0.3)
    figure.savefig(path, dpi=100)
    plt.close(figure)
