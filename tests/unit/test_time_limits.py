"""A running attempt's limits on a clock the test moves by hand: stop at the soft limit, kill after the stop grace
or at the hard limit, and a cancel asked through the store stops it too."""

from __future__ import annotations

from actors.decisions import STOP_GRACE_S, AttemptLimits, Retry, Signal, failed
from tests.unit.conftest import FakeClock
from tests.unit.specs import job, spec


class CancelFlag:
    """The store's cancel flag for one job, counting how often the Dispatcher reads it."""

    def __init__(self) -> None:
        self.set, self.reads = False, 0

    def __call__(self) -> bool:
        self.reads += 1
        return self.set


def test_soft_limit_stops_once_then_the_grace_ends_in_a_kill(clock: FakeClock) -> None:
    s = spec(soft_limit_s=10, hard_limit_s=60)
    a, flag = AttemptLimits(s, clock.monotonic()), CancelFlag()
    assert a.check(clock.advance(9.9), flag) is None
    assert a.check(clock.advance(0.2), flag) is Signal.STOP  # 10.1 s: past the soft limit
    assert a.soft_sent and not a.hard_sent
    assert a.check(clock.advance(STOP_GRACE_S - 0.1), flag) is None  # still within the grace: its cleanup runs
    assert a.check(clock.advance(0.2), flag) is Signal.KILL  # 3.1 s after the stop
    assert a.hard_sent and not a.past_hard_limit
    assert [a.check(clock.advance(30), flag) for _ in range(3)] == [None, None, None]  # killed once, even past 60 s
    d = failed(a, job(), [s], RuntimeError("worker died"), 1.0, lambda lo, hi: 1.0)
    assert isinstance(d, Retry)
    assert d.error == "soft time limit of 10 s exceeded: the task did not stop within 3 s and its worker was killed"


def test_a_task_that_stops_within_the_grace_is_never_killed(clock: FakeClock) -> None:
    s = spec(soft_limit_s=1, hard_limit_s=2.5)
    a = AttemptLimits(s, clock.monotonic())
    assert a.check(clock.advance(1.1), lambda: False) is Signal.STOP
    d = failed(a, job(), [s], KeyboardInterrupt(), 1.0, lambda lo, hi: 1.0)  # it ended before the next tick
    assert isinstance(d, Retry) and d.error == "soft time limit of 1 s exceeded: the task was stopped"


def test_the_hard_limit_kills_before_the_grace_runs_out(clock: FakeClock) -> None:
    s = spec(soft_limit_s=1, hard_limit_s=2.5)
    a = AttemptLimits(s, clock.monotonic())
    assert a.check(clock.advance(1.5), lambda: False) is Signal.STOP
    assert a.check(clock.advance(0.9), lambda: False) is None  # 2.4 s
    assert a.check(clock.advance(0.2), lambda: False) is Signal.KILL  # 2.6 s: the grace would end at 4.5 s
    assert a.past_hard_limit


def test_a_task_past_both_limits_at_one_tick_is_killed_without_a_stop_first(clock: FakeClock) -> None:
    a = AttemptLimits(spec(soft_limit_s=1, hard_limit_s=2), clock.monotonic())
    assert a.check(clock.advance(5), lambda: False) is Signal.KILL
    assert a.past_hard_limit and not a.soft_sent


def test_a_cancel_asked_through_the_store_stops_the_task_and_the_grace_applies(clock: FakeClock) -> None:
    a, flag = AttemptLimits(spec(), clock.monotonic()), CancelFlag()
    assert a.check(clock.advance(1), flag) is None
    flag.set = True
    assert a.check(clock.advance(1), flag) is Signal.STOP
    assert a.cancelled and not a.soft_sent
    reads = flag.reads
    assert a.check(clock.advance(1), flag) is None
    assert flag.reads == reads  # once cancelled, the flag is not read again
    assert a.check(clock.advance(STOP_GRACE_S), flag) is Signal.KILL
    assert not a.past_hard_limit


def test_the_cancel_flag_is_not_read_while_a_limit_acts_or_after_the_kill(clock: FakeClock) -> None:
    a, flag = AttemptLimits(spec(soft_limit_s=1, hard_limit_s=100), clock.monotonic()), CancelFlag()
    a.check(clock.advance(2), flag)  # the soft stop
    a.check(clock.advance(STOP_GRACE_S + 1), flag)  # the kill
    a.check(clock.advance(1), flag)
    assert flag.reads == 0


def test_a_cancel_is_sent_once_and_not_on_top_of_a_soft_stop(clock: FakeClock) -> None:
    a = AttemptLimits(spec(), clock.monotonic())
    assert a.cancel(clock.advance(1)) is Signal.STOP
    assert a.cancel(clock.advance(1)) is None
    b = AttemptLimits(spec(soft_limit_s=1), clock.monotonic())
    assert b.check(clock.advance(2), lambda: False) is Signal.STOP
    assert b.cancel(clock.advance(0.5)) is None  # a second interrupt would break the cleanup the first started
    assert b.cancelled  # but the job is revoked, not retried, when the attempt ends


def test_the_grace_counts_from_the_first_stop_not_a_later_cancel(clock: FakeClock) -> None:
    a = AttemptLimits(spec(soft_limit_s=1), clock.monotonic())
    a.check(clock.advance(2), lambda: False)
    a.cancel(clock.advance(2))
    assert a.check(clock.advance(1.1), lambda: False) is Signal.KILL  # 3.1 s after the soft stop
