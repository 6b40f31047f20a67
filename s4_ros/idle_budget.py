"""The work thread's idle time, banked for the splat model.

The all-in-one's work thread tracks every frame first; the splat model may only use the time
the frames leave. "No frame waits at this instant" is not such time: near saturation the queue
empties for a moment between two frames, a training call then holds the thread for a few
hundred milliseconds, and the frames that arrive meanwhile overflow the queue. On the 4-camera
320x240 bench that rule gave the model about a quarter of the work thread while the queue
dropped a quarter of the frames.

So training is paid from a budget: the thread earns the time it sleeps between work periods
(time it had nothing to do), and a training call starts only when the budget covers what the
recent calls took. Under full load the thread never sleeps and the model waits. Since only
sleep fills the bank, the thread sleeps as long as it trains: the model gets half of the time
the frames leave, and the other half stays slack, so the queue is empty again before the next
call and a swing of the load (a sync estimate, a longer call) does not overflow it.
"""

from __future__ import annotations

#: Weight of the newest call in the running estimate of a call's duration.
_CALL_SMOOTHING = 0.3


class IdleTimeBudget:
    """Seconds of idle time a caller may spend on optional work.

    Example:
        budget = IdleTimeBudget(max_credit_s=1.0)
        budget.earn(slept_s)
        while budget.affords_call():
            start = time.monotonic(); train(); budget.spend(time.monotonic() - start)
    """

    def __init__(self, max_credit_s: float) -> None:
        """Args: max_credit_s: the most idle time kept in the bank, seconds, so that a long
        idle spell does not buy a long burst of work later (while frames pile up)."""
        if max_credit_s <= 0:
            raise ValueError(f"max_credit_s must be positive, got {max_credit_s}")
        self.max_credit_s = max_credit_s
        self.credit_s = 0.0
        self.call_s = 0.0  # running estimate of one call's duration; 0 until a call was timed

    def earn(self, idle_s: float) -> None:
        """Bank ``idle_s`` seconds of idle time (negative values count as none)."""
        self.credit_s = min(self.max_credit_s, self.credit_s + max(0.0, idle_s))

    def affords_call(self) -> bool:
        """Whether the bank covers one more call of the usual duration (or the whole cap, for
        calls longer than it). The bank may go negative by what a call overran; it is then
        paid back from later idle time first."""
        return self.credit_s > 0.0 and self.credit_s >= min(self.call_s, self.max_credit_s)

    def spend(self, call_s: float) -> None:
        """Pay for a call that took ``call_s`` seconds."""
        self.credit_s -= call_s
        self.call_s = call_s if self.call_s == 0.0 else (1 - _CALL_SMOOTHING) * self.call_s + _CALL_SMOOTHING * call_s
