"""The progress channel: a stage's `progress(fraction, status)` updates the job hash and publishes an event on
the owner's Redis channel, throttled so a render cannot flood Redis."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import redis

from actors.job_store import JobStore
from actors.job_view import job_event
from actors.jobs import Job, State


def event(job: Job, **changes: Any) -> dict[str, Any]:
    """The event published when a job changes state: its public view (actors/job_view.py), with `changes` over it."""
    return job_event(job).model_dump() | changes


class ProgressChannel:
    """Called from inside a stage; maps the stage's 0..1 onto the job's share (a workflow has several stages)."""

    def __init__(
        self,
        store: JobStore,
        job: Job,
        token: str,
        stage: str,
        share: tuple[float, float] = (0.0, 1.0),
        min_interval_s: float = 0.25,
    ) -> None:
        self.store, self.job, self.token, self.stage = store, job, token, stage
        self.lo, self.hi = share
        self.min_interval_s = min_interval_s
        self._last_sent = 0.0
        self._last_percent = -1.0
        self.sent = 0

    def __call__(self, fraction: float, status: str) -> None:
        percent = 100.0 * (self.lo + (self.hi - self.lo) * min(1.0, max(0.0, fraction)))
        now = time.monotonic()
        # Always let the first, the last and big jumps through; otherwise at most one event per interval.
        if fraction < 1.0 and now - self._last_sent < self.min_interval_s and percent - self._last_percent < 10:
            return
        self._last_sent, self._last_percent = now, percent
        try:
            owner = self.store.report(self.job.id, self.token, percent, status, self.stage)
            if owner is None:
                return  # a stale attempt (cancelled, timed out, or superseded): stay silent
            reported = replace(self.job, state=State.PROGRESS, progress=percent, status=status, stage=self.stage)
            self.store.publish(owner, job_event(reported, now=time.time()).model_dump())
            self.sent += 1
        except redis.RedisError:
            pass  # progress is best effort: a Redis blip must not fail the work itself
