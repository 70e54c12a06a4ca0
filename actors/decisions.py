"""What the Dispatcher decides about an attempt: when to stop or kill it, and what its end does to the job.

Plain functions of the attempt, the job and the time the caller passes in: no Ray, no Redis, no clock of their own,
so every decision is testable without a cluster. The Dispatcher (actors/dispatcher.py) applies them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from actors.jobs import Job
from actors.registry import TaskSpec
from pipeline.errors import MissingToolError, ProviderError

STOP_GRACE_S = 3.0  # a stage asked to stop stops within a second; one that has not after this is killed

Uniform = Callable[[float, float], float]  # random.uniform, or a seeded generator's


def is_permanent(exc: BaseException) -> bool:
    """Errors that retrying cannot fix: bad params, missing or corrupt input, a missing tool, bad credentials."""
    if isinstance(exc, ProviderError):
        return exc.kind in ("auth",)
    return isinstance(exc, ValueError | MissingToolError | KeyError | TypeError)


def backoff(spec: TaskSpec, attempt: int, scale: float, uniform: Uniform = random.uniform) -> float:
    """60, 120, 240 s by default (doubling per attempt), with ±20 % jitter so retries do not stampede."""
    return spec.backoff_s * 2 ** (attempt - 1) * uniform(0.8, 1.2) * scale


# ---- time limits ----------------------------------------------------------------------------------------------
class Signal(StrEnum):
    """What the Dispatcher sends to a running attempt."""

    STOP = "stop"  # KeyboardInterrupt inside the task: its cleanup runs
    KILL = "kill"  # the worker process is killed


@dataclass
class AttemptLimits:
    """A running attempt's limits and what it has been sent; `started` and every `now` are monotonic seconds."""

    spec: TaskSpec
    started: float
    cancelled: bool = False
    soft_sent: bool = False
    hard_sent: bool = False
    past_hard_limit: bool = False
    stop_sent: float | None = None  # asked to stop (cancel, soft limit) then; killed if still running STOP_GRACE_S on

    def stop(self, now: float) -> Signal | None:
        """Ask once: a second request would interrupt the task's cleanup."""
        if self.stop_sent is not None:
            return None
        self.stop_sent = now
        return Signal.STOP

    def cancel(self, now: float) -> Signal | None:
        """The user cancelled: whatever ends the attempt now, the job is revoked, never retried."""
        self.cancelled = True
        return self.stop(now)

    def kill(self, past_hard_limit: bool) -> Signal:
        self.hard_sent, self.past_hard_limit = True, past_hard_limit
        return Signal.KILL

    def check(self, now: float, cancel_requested: Callable[[], bool]) -> Signal | None:
        """One tick of the limits: past the hard limit, or still running STOP_GRACE_S after a stop, it is killed;
        past the soft limit it is asked to stop; a cancel asked through the store stops it too (checked last, so a
        tick costs no store read while a limit acts)."""
        if self.hard_sent:
            return None
        elapsed = now - self.started
        if elapsed > self.spec.hard_limit_s:
            return self.kill(past_hard_limit=True)
        if self.stop_sent is not None and now - self.stop_sent > STOP_GRACE_S:
            return self.kill(past_hard_limit=False)
        if elapsed > self.spec.soft_limit_s and not self.soft_sent:
            self.soft_sent = True
            return self.stop(now)
        if not self.cancelled and cancel_requested():
            return self.cancel(now)
        return None


# ---- the end of an attempt ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Advance:
    """The stage is done and the workflow has more: the job moves to the next stage's queue, keeping its place."""

    next_stage: TaskSpec
    result: dict[str, Any]
    status: str


@dataclass(frozen=True)
class Done:
    result: dict[str, Any]
    stat: tuple[str, ...]  # the counters the finish moves: a job that needed a retry is also a retry success
    status: str = "done"


@dataclass(frozen=True)
class Revoked:
    status: str = "cancelled"


@dataclass(frozen=True)
class Retry:
    delay: float  # seconds from now
    status: str
    error: str
    error_type: str


@dataclass(frozen=True)
class DeadLetter:
    """FAILURE and the dead-letter list: a permanent error, a time limit after a stop, or the retries used up."""

    status: str
    error: str
    error_type: str


def succeeded(a: AttemptLimits, job: Job, stages: Sequence[TaskSpec], result: dict[str, Any]) -> Advance | Done:
    """The stage's result joins the earlier stages'; the last stage's end finishes the job."""
    merged = {**job.result, **result}
    if job.stage_index + 1 < len(stages):
        return Advance(stages[job.stage_index + 1], merged, f"{a.spec.name} done")
    return Done(merged, ("completed", "retry_success") if job.retried else ("completed",))


def error_message(a: AttemptLimits, cause: BaseException) -> str:
    """A time limit names the limit, not the interrupt it caused; any other failure is its exception."""
    if a.past_hard_limit:
        return f"hard time limit of {a.spec.hard_limit_s:g} s exceeded: the worker was killed"
    if a.soft_sent:
        how = f"did not stop within {STOP_GRACE_S:g} s and its worker was killed" if a.hard_sent else "was stopped"
        return f"soft time limit of {a.spec.soft_limit_s:g} s exceeded: the task {how}"
    return f"{type(cause).__name__}: {cause}"


def failed(
    a: AttemptLimits,
    job: Job,
    stages: Sequence[TaskSpec],
    cause: BaseException,
    backoff_scale: float,
    uniform: Uniform = random.uniform,
) -> Revoked | Retry | DeadLetter:
    """Cancelled → revoked; permanent or out of retries → dead letter; otherwise a retry after `backoff`."""
    if a.cancelled:  # whatever else happened to the attempt (a time limit, the kill after it), never retried
        return Revoked()
    message, error_type = error_message(a, cause), type(cause).__name__
    permanent = is_permanent(cause) and not (a.soft_sent or a.hard_sent)
    tries = job.attempts_this_stage  # a workflow's earlier stages never use up a later one's retries
    if not permanent and tries <= a.spec.max_retries:
        delay = backoff(a.spec, tries, backoff_scale, uniform)
        where = f"{a.spec.name} " if len(stages) > 1 else ""
        status = f"retry {where}{tries}/{a.spec.max_retries} in {delay:.1f} s: {message}"[:500]
        return Retry(delay, status, message, error_type)
    status = "failed" if permanent else f"failed after {tries} attempts of {a.spec.name}"
    return DeadLetter(status, message, error_type)
