"""Job-system metrics through `ray.util.metrics`, recorded by the Dispatcher and exported by each node's Ray metrics
agent in Prometheus text (names gain Ray's `ray_` prefix; counters also a `_total` suffix), where the Ray dashboard's
metrics view, Prometheus and Grafana read them.

Gauges (a snapshot of Redis, taken about once a second by the Dispatcher):

- `reels_jobs{state, queue}`: jobs per state. `queue="all"` holds every state's total (`SCARD reels:state:<STATE>`,
  finished jobs included until they are purged); per queue there are only the states a queue keeps an index of:
  PENDING (its pending set) and STARTED / PROGRESS (its running set, split by the job's state). A job waiting for a
  retry (RETRY) has no per-queue series. Sum over `queue!="all"` only: the `all` series would count twice.
- `reels_queue_depth{queue}`: pending jobs per queue (waiting for a slot).
- `reels_dead_letters`: the dead-letter queue's length.

Counters and a histogram (recorded when an attempt of this Dispatcher ends; a restarted Dispatcher starts its own
series, told apart by Ray's `WorkerId` label, so sum over it):

- `reels_stage_seconds{task_type, queue}`: the duration of every ended attempt, whatever its outcome, as the
  Dispatcher sees it (from starting the Ray task to its result: a cold worker's start-up counts); `task_type` is the
  stage's task type (a workflow's stage, not the workflow). Ray aggregates histogram samples into buckets before
  export, so `_count` and the buckets are exact but `_sum` is estimated from the buckets.
- `reels_retries{task_type, queue}`: failed attempts scheduled for another try.
- `reels_finished{task_type, queue, state}`: jobs an attempt ended in SUCCESS, FAILURE (dead-lettered) or REVOKED
  (cancelled while running), by the job's task type and the queue of its last stage. Jobs cancelled before they
  started never had an attempt: `reels_jobs{state="REVOKED", queue="all"}` counts them.

Metrics are best effort: a failure to record one is logged once and never reaches the Dispatcher's loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from actors.job_store import JobStore
from actors.jobs import State
from actors.queues import QUEUES

log = logging.getLogger("reels.metrics")

STAGE_SECONDS_BOUNDARIES = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800]
ALL = "all"  # the `queue` tag of the per-state totals


@dataclass
class Snapshot:
    jobs: dict[tuple[str, str], int]  # (state, queue) -> jobs
    queue_depth: dict[str, int]
    dead_letters: int


def snapshot(store: JobStore) -> Snapshot:
    """The gauges' values, read from Redis in one round trip (two when jobs are running): O(states + queues +
    running jobs), never O(all jobs)."""
    totals, depth, running, dead = store.counts()
    jobs = {(str(s), ALL): c for s, c in totals.items()}
    for q in QUEUES:
        jobs[(str(State.PENDING), q)] = depth[q]
    busy = [q for q in QUEUES if running[q]]
    in_progress = dict.fromkeys(QUEUES, 0)
    if busy:
        in_progress.update(zip(busy, store.how_many_in_state(State.PROGRESS, [running[q] for q in busy]), strict=True))
    for q in QUEUES:
        jobs[(str(State.PROGRESS), q)] = in_progress[q]
        jobs[(str(State.STARTED), q)] = len(running[q]) - in_progress[q]
    return Snapshot(jobs, depth, dead)


class _Instruments:
    """The Ray metric objects, made once per process (in the Dispatcher's actor process, on first use)."""

    def __init__(self) -> None:
        from ray.util.metrics import Counter, Gauge, Histogram

        self.jobs = Gauge("reels_jobs", "Jobs per state and queue (queue=all: per-state totals)", ("state", "queue"))
        self.queue_depth = Gauge("reels_queue_depth", "Pending jobs per queue", ("queue",))
        self.dead_letters = Gauge("reels_dead_letters", "Jobs in the dead-letter queue")
        self.stage_seconds = Histogram(
            "reels_stage_seconds",
            "Duration of each ended stage attempt, in seconds",
            STAGE_SECONDS_BOUNDARIES,
            ("task_type", "queue"),
        )
        self.retries = Counter("reels_retries", "Failed attempts scheduled for a retry", ("task_type", "queue"))
        self.finished = Counter(
            "reels_finished", "Jobs an attempt ended, by final state", ("task_type", "queue", "state")
        )


_instruments: _Instruments | None = None


def _get() -> _Instruments:
    global _instruments
    if _instruments is None:
        _instruments = _Instruments()
    return _instruments


class QueueMetrics:
    """The Dispatcher's recorder: every method swallows its errors (the first of each kind is logged as a warning)."""

    def __init__(self) -> None:
        self._warned: set[str] = set()

    def observe_snapshot(self, store: JobStore) -> None:
        try:
            snap = snapshot(store)
            m = _get()
            for (state, queue), count in snap.jobs.items():
                m.jobs.set(count, tags={"state": state, "queue": queue})
            for queue, count in snap.queue_depth.items():
                m.queue_depth.set(count, tags={"queue": queue})
            m.dead_letters.set(snap.dead_letters)
        except Exception as e:
            self._failed("the queue snapshot", e)

    def attempt_finished(self, task_type: str, queue: str, seconds: float) -> None:
        try:
            _get().stage_seconds.observe(max(seconds, 0.0), tags={"task_type": task_type, "queue": queue})
        except Exception as e:
            self._failed("an attempt's duration", e)

    def retried(self, task_type: str, queue: str) -> None:
        try:
            _get().retries.inc(tags={"task_type": task_type, "queue": queue})
        except Exception as e:
            self._failed("a retry", e)

    def job_finished(self, task_type: str, queue: str, state: State) -> None:
        try:
            _get().finished.inc(tags={"task_type": task_type, "queue": queue, "state": str(state)})
        except Exception as e:
            self._failed("a finished job", e)

    def _failed(self, what: str, e: Exception) -> None:
        level = logging.DEBUG if what in self._warned else logging.WARNING
        self._warned.add(what)
        log.log(
            level, "could not record %s in the metrics (%s: %s); metrics are best effort", what, type(e).__name__, e
        )
