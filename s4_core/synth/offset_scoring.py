"""Scoring estimated clock offsets against the synthetic world's true clocks.

One definition of "offset error" for the demo, the benchmark and the tests: the estimate and
the truth are compared at the stamp where the estimate holds (its ``t0_s``), in frames of that
camera, so drift between the recording start and the estimate does not count as error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from s4_core.clock import ClockModel
from s4_core.offsets import ClockOffset, SyncState


@dataclass(frozen=True)
class OffsetScore:
    """One camera's estimate next to its truth.

    Attributes:
        camera: camera name.
        true_offset_s: true offset at the estimate's ``t0_s``.
        estimated_offset_s: the estimate (NaN when not locked).
        error_frames: estimate minus truth in frames of this camera (NaN when not locked).
        stddev_frames: the estimate's stddev in frames.
        state: the estimate's state.
        reason: why it is not locked.
    """

    camera: str
    true_offset_s: float
    estimated_offset_s: float
    error_frames: float
    stddev_frames: float
    state: SyncState
    reason: str

    @property
    def within_3_sigma(self) -> bool:
        """Whether the true offset lies within three reported standard deviations."""
        return abs(self.error_frames) <= 3.0 * self.stddev_frames


def score_offsets(
    offsets: Mapping[str, ClockOffset], clocks: Mapping[str, ClockModel], fps: Mapping[str, float]
) -> list[OffsetScore]:
    """Scores of every camera that has a true clock, in the order of ``clocks``."""
    scores = []
    for camera, clock in clocks.items():
        estimate = offsets.get(camera)
        if estimate is None:
            scores.append(OffsetScore(camera, clock.offset_s, math.nan, math.nan, math.inf, SyncState.INITIALIZING, "no estimate"))
            continue
        truth_s = float(clock.offset_at(estimate.t0_s)) if estimate.t0_s else clock.offset_s
        locked = estimate.state is SyncState.LOCKED
        error = (estimate.offset_s - truth_s) * fps[camera] if locked else math.nan
        scores.append(
            OffsetScore(
                camera=camera,
                true_offset_s=truth_s,
                estimated_offset_s=estimate.offset_s if locked else math.nan,
                error_frames=error,
                stddev_frames=estimate.stddev_s * fps[camera],
                state=estimate.state,
                reason=estimate.reason,
            )
        )
    return scores


def format_scores(scores: list[OffsetScore]) -> str:
    """A plain-text table of scores."""
    lines = [f"{'camera':8} {'true offset s':>14} {'estimate s':>12} {'error frames':>13} {'stddev frames':>14}  state"]
    for s in scores:
        lines.append(
            f"{s.camera:8} {s.true_offset_s:+14.6f} {s.estimated_offset_s:+12.6f} {s.error_frames:+13.4f} "
            f"{s.stddev_frames:14.4f}  {s.state.value}{' (' + s.reason + ')' if s.reason else ''}"
        )
    return "\n".join(lines)
