"""Clock offset estimates, the sync stage's output."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SyncState(str, enum.Enum):
    """Health of one camera's offset estimate.

    INITIALIZING: not enough evidence yet (never a number to trust).
    LOCKED: the estimate is supported by the data and its stddev is meaningful.
    LOST: evidence stopped or contradicts the estimate (camera stopped, clock jumped).
    """

    INITIALIZING = "initializing"
    LOCKED = "locked"
    LOST = "lost"


@dataclass(frozen=True)
class ClockOffset:
    """Estimated clock of one camera relative to the reference camera.

    Follows the convention of :mod:`s4_core.clock`: a frame stamped ``t`` was captured at
    reference time ``t - offset_s - drift_ppm * 1e-6 * (t - t0_s)``.

    Attributes:
        camera: camera name.
        offset_s: offset at ``t0_s``, seconds.
        stddev_s: one standard deviation of ``offset_s``, seconds.
        drift_ppm: drift, parts per million.
        state: health of the estimate.
        reason: human-readable why for the state (empty when locked).
        t0_s: stamp time (camera clock) at which ``offset_s`` holds.
    """

    camera: str
    offset_s: float
    stddev_s: float
    drift_ppm: float = 0.0
    state: SyncState = SyncState.INITIALIZING
    reason: str = ""
    t0_s: float = 0.0
