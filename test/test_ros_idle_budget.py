"""The idle-time bank that pays for the all-in-one's splat training (s4_ros.idle_budget).

The bank is judged on what it is for: a work thread that must keep up with its frames gives the
optional work the time it would otherwise sleep, and none when it has none.
"""

from __future__ import annotations

import pytest

from s4_ros.idle_budget import IdleTimeBudget

PERIOD_S = 0.1  # the all-in-one's default work period


def _training_share(load: float, call_s: float, run_s: float = 600.0) -> float:
    """Fraction of a simulated work thread's time spent training.

    Frames arrive evenly and cost ``load`` seconds of work per second; every period the thread
    works off what arrived since its last period began, then trains (``call_s`` per call)
    while the bank affords it, then sleeps until its next period is due.
    """
    budget = IdleTimeBudget(max_credit_s=1.0)
    now_s, previous_start_s, trained_s = 0.0, -PERIOD_S, 0.0
    while now_s < run_s:
        start_s = now_s
        now_s += load * (start_s - previous_start_s)
        if budget.affords_call():
            now_s += call_s
            budget.spend(call_s)
            trained_s += call_s
        next_start_s = max(start_s + PERIOD_S, now_s)
        budget.earn(next_start_s - now_s)
        previous_start_s, now_s = start_s, next_start_s
    return trained_s / now_s


@pytest.mark.parametrize("load", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("call_s", [0.05, 0.3, 1.5])
def test_training_gets_half_the_idle_time(load: float, call_s: float) -> None:
    """Training is paid with time slept, so the thread sleeps as long as it trains: the model
    gets half of what the frames leave, the other half stays slack for the frames."""
    share = _training_share(load, call_s)
    assert share == pytest.approx((1.0 - load) / 2, abs=0.01), f"training took {share:.3f} of the thread at load {load}"


def test_a_saturated_thread_trains_at_most_once() -> None:
    """At full load it never sleeps, so only the first call (its duration unknown) can start."""
    call_s, run_s = 0.3, 600.0
    assert _training_share(load=1.0, call_s=call_s, run_s=run_s) <= call_s / run_s


def test_a_call_waits_until_the_bank_covers_the_usual_duration() -> None:
    budget = IdleTimeBudget(max_credit_s=1.0)
    assert not budget.affords_call()  # nothing banked yet
    budget.earn(0.01)
    assert budget.affords_call()  # the first call has no known duration
    budget.spend(0.3)
    budget.earn(0.25)
    assert not budget.affords_call()  # -0.29 + 0.25: the overrun is paid back first
    budget.earn(0.34)
    assert budget.affords_call()  # 0.30 banked, a call takes 0.3


def test_the_bank_is_capped_and_a_call_longer_than_the_cap_still_runs() -> None:
    budget = IdleTimeBudget(max_credit_s=1.0)
    budget.earn(0.5)
    budget.spend(2.0)  # a long call: the bank owes 1.5 s
    budget.earn(100.0)  # a long idle spell banks the cap only
    assert budget.credit_s == pytest.approx(1.0)
    assert budget.affords_call()  # a full bank pays for a call longer than the cap
    budget.earn(-5.0)  # no negative idle time
    assert budget.credit_s == pytest.approx(1.0)


def test_the_bank_needs_a_positive_cap() -> None:
    with pytest.raises(ValueError, match="max_credit_s"):
        IdleTimeBudget(max_credit_s=0.0)
