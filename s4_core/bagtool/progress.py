"""A plain-text progress bar for long recordings: rate, speed against real time, and ETA.

Redrawn in place (carriage return) at most a few times a second when the stream is a
terminal; silent otherwise, so logs of batch runs get only the final line the caller prints.
"""

from __future__ import annotations

import time
from typing import TextIO

from s4_core.bagtool.sync import SyncProgress

#: Characters of the bar itself.
BAR_WIDTH = 24


class ProgressBar:
    """Callable that draws :class:`SyncProgress` reports on a stream.

    Args:
        stream: where to draw (stderr in the CLI).
        interactive: redraw in place; None asks the stream whether it is a terminal.
        min_interval_s: least time between two redraws.
    """

    def __init__(self, stream: TextIO, interactive: bool | None = None, min_interval_s: float = 0.2) -> None:
        self._stream = stream
        self._interactive = stream.isatty() if interactive is None else interactive
        self._min_interval_s = min_interval_s
        self._phase = ""
        self._phase_start = 0.0
        self._last_draw = float("-inf")

    def __call__(self, progress: SyncProgress) -> None:
        now = time.perf_counter()
        if progress.phase != self._phase:
            self._phase, self._phase_start, self._last_draw = progress.phase, now, float("-inf")
        if not self._interactive or now - self._last_draw < self._min_interval_s:
            return
        self._last_draw = now
        self._stream.write("\r" + format_progress(progress, now - self._phase_start) + "\033[K")
        self._stream.flush()

    def close(self) -> None:
        """End the bar's line so that what follows starts on a fresh one."""
        if self._interactive and self._phase:
            self._stream.write("\n")
            self._stream.flush()


def format_progress(progress: SyncProgress, wall_s: float) -> str:
    """One line: phase, bar, percent, messages and their rate, speed against real time, ETA."""
    fraction = progress.fraction
    filled = int(round(fraction * BAR_WIDTH))
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    rate = progress.messages_done / wall_s if wall_s > 0 else 0.0
    speed = progress.recording_done_s / wall_s if wall_s > 0 else 0.0
    eta = _clock((1.0 - fraction) * wall_s / fraction) if fraction > 0 else "--:--"
    return (
        f"{progress.phase:<8} [{bar}] {100 * fraction:5.1f}%  {progress.messages_done} msgs "
        f"{rate:.0f}/s  {speed:.2f}x real time  ETA {eta}"
    )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
