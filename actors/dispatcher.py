"""The Dispatcher: a detached, restartable async actor that starts stages in priority order as queue slots free up,
retries with exponential backoff, dead-letters what retrying cannot fix, and enforces time limits.

All job state lives in Redis (actors/job_store.py); the actor holds only the refs of the attempts it started, so a
restart loses nothing: jobs it was running are requeued (Ray ends tasks whose owner died) and attempt tokens stop a
stale attempt from finishing a job twice. What to do with an attempt is decided in actors/decisions.py; this actor
makes the Ray calls and the store writes those decisions ask for.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

import ray
import redis

from actors import registry
from actors.decisions import Advance, AttemptLimits, Retry, Revoked, Signal, failed, succeeded
from actors.job_store import JobStore
from actors.jobs import Job, State
from actors.metrics import QueueMetrics
from actors.progress import event
from actors.queues import QUEUES, resource
from actors.registry import RuntimeConfig, TaskSpec
from actors.runner import run_attempt

log = logging.getLogger("reels.dispatcher")
NAME, NAMESPACE = "reels-dispatcher", "reels"
_run = ray.remote(run_attempt)


@dataclass
class Attempt:
    job_id: str
    token: str
    queue: str
    ref: Any
    limits: AttemptLimits

    @property
    def spec(self) -> TaskSpec:
        return self.limits.spec

    def send(self, signal: Signal | None) -> None:
        if signal is Signal.STOP:
            ray.cancel(self.ref)  # KeyboardInterrupt inside the task: its cleanup runs
        elif signal is Signal.KILL:
            ray.cancel(self.ref, force=True)  # kills the worker process


def _rss_mb() -> float:
    """Resident memory of this process (the benchmark reports the Dispatcher's)."""
    with open("/proc/self/status") as f:
        kb = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    return round(kb / 1024, 1)


class Dispatcher:
    def __init__(self, config: RuntimeConfig, caps: dict[str, int], tick_s: float = 0.05) -> None:
        registry.load(config.task_modules)
        self.config, self.caps, self.tick_s = config, dict(caps), tick_s
        self.store = JobStore(config.redis_url)
        self.attempts: dict[str, Attempt] = {}
        self.started_total = 0
        self._wake = asyncio.Event()
        self._recovered = False
        self._last_reconcile = 0.0
        self._told: dict[str, str] = {}  # the waiting reason each pending job was last given
        self.metrics = QueueMetrics()
        self._loop = asyncio.get_event_loop().create_task(self._run())

    # ---- remote API -------------------------------------------------------------------------------------
    async def ping(self) -> dict[str, Any]:
        return {
            "running": {q: self._running(q) for q in QUEUES},
            "caps": dict(self.caps),
            "started_total": self.started_total,
            "recovered": self._recovered,
            "pid": os.getpid(),
            "rss_mb": _rss_mb(),
        }

    async def wake(self) -> None:
        self._wake.set()

    async def set_cap(self, queue: str, slots: int) -> dict[str, int]:
        if queue not in QUEUES:
            raise ValueError(f"unknown queue {queue!r}")
        if slots < 0:
            raise ValueError("slots must be >= 0")
        self.caps[queue] = slots
        self.store.set_cap(queue, slots)
        self._wake.set()
        return dict(self.caps)

    async def cancel(self, job_id: str) -> str:
        outcome = self.store.cancel(job_id)
        attempt = self.attempts.get(job_id)
        if attempt is not None:
            attempt.send(attempt.limits.cancel(time.monotonic()))
        if outcome == "REVOKED":
            self._publish(job_id)
        return outcome

    # ---- the loop -------------------------------------------------------------------------------------------
    def _running(self, queue: str) -> int:
        return sum(1 for a in self.attempts.values() if a.queue == queue)

    async def _run(self) -> None:
        while True:
            try:
                if not self._recovered:
                    # Attempts a previous incarnation started died with it (Ray ends tasks whose owner died).
                    for q in QUEUES:
                        self.store.requeue_running(q)
                    self.caps.update(self.store.caps())
                    self._recovered = True
                self._tick()
            except redis.RedisError as e:
                log.warning("redis unavailable (%s); retrying", e)
                await asyncio.sleep(0.5)
                continue
            except Exception:
                log.exception("dispatcher tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.tick_s)
            self._wake.clear()

    def _tick(self) -> None:
        self.store.release_due()
        self._enforce_limits()
        now = time.monotonic()
        if now - self._last_reconcile > 1.0:
            self._last_reconcile = now
            for q in QUEUES:
                # A job marked running that no live attempt holds lost its update (e.g. Redis was down): requeue it.
                self.store.requeue_running(q, sorted(self.store.running(q) - set(self.attempts)))
            # Caps set through Redis (the HTTP API's admin scale) reach this loop within a second.
            self.caps.update(self.store.caps())
            self.store.heartbeat(self.caps, {q: self._running(q) for q in QUEUES})
            self.metrics.observe_snapshot(self.store)
            self._explain_waiting()
        for q in QUEUES:
            while self._running(q) < self.caps.get(q, 0):
                token = uuid.uuid4().hex
                job_id = self.store.claim(q, token)
                if job_id is None:
                    break
                self._start(job_id, token, q)

    def _start(self, job_id: str, token: str, queue: str) -> None:
        job = self.store.get(job_id)
        assert job is not None
        spec = registry.get(job.task_type).stage_specs()[job.stage_index]
        gpus = 0.0 if self.config.allow_gpu_on_cpu else spec.num_gpus
        ref = _run.options(
            resources={resource(queue): 1},
            num_cpus=0,
            num_gpus=gpus,
            max_retries=0,
            name=f"{spec.name}:{job_id[:8]}",
        ).remote(job_id, token, self.config)
        attempt = Attempt(job_id, token, queue, ref, AttemptLimits(spec, time.monotonic()))
        # Track and await the attempt before anything else can fail (Redis going down, say): an attempt nobody
        # awaits would hold its job in PROGRESS for ever.
        self.attempts[job_id] = attempt
        asyncio.get_event_loop().create_task(self._await(attempt))
        self.started_total += 1
        self._publish(job_id)

    def _explain_waiting(self) -> None:
        """Jobs that cannot start tell why, instead of sitting silently in PENDING."""
        for q in QUEUES:
            if self.store.pending_count(q) == 0:
                continue
            reason = ""
            has_gpu = ray.cluster_resources().get("GPU", 0) > 0
            if q == "gpu" and not has_gpu and not self.config.allow_gpu_on_cpu:
                reason = (
                    "waiting for a GPU node: this cluster has none (the autoscaler adds one when configured; "
                    "REELS_ALLOW_GPU_ON_CPU=1 runs gpu jobs on CPUs)"
                )
            elif self.caps.get(q, 0) == 0:
                reason = f"waiting: the {q} queue has 0 slots (raise it with the admin scale command)"
            elif ray.cluster_resources().get(resource(q), 0) == 0:
                reason = f"waiting for a node that serves the {q} queue"
            if reason:
                # Only jobs not yet told this reason: a backlog of thousands must not cost a write per job per second.
                fresh = [i for i in self.store.pending_ids(q, 200) if self._told.get(i) != reason]
                self.store.set_status(fresh, reason)
                for job_id in fresh:
                    self._told[job_id] = reason
        if len(self._told) > 10_000:
            self._told.clear()

    def _enforce_limits(self) -> None:
        now = time.monotonic()
        for a in list(self.attempts.values()):
            a.send(a.limits.check(now, functools.partial(self.store.cancel_requested, a.job_id)))

    async def _await(self, a: Attempt) -> None:
        try:
            try:
                result = await a.ref
            except BaseException as exc:  # every failure mode ends here, classified below
                self._failed(a, exc)
            else:
                self._succeeded(a, result)
        except redis.RedisError as e:
            log.warning("could not record the end of %s (%s); it will be requeued", a.job_id, e)
        finally:
            self.attempts.pop(a.job_id, None)
            self._wake.set()

    def _succeeded(self, a: Attempt, result: dict[str, Any]) -> None:
        self.metrics.attempt_finished(a.spec.name, a.queue, time.monotonic() - a.limits.started)
        job = self.store.get(a.job_id)
        assert job is not None
        decision = succeeded(a.limits, job, registry.get(job.task_type).stage_specs(), result)
        if isinstance(decision, Advance):
            self.store.advance(a.job_id, a.token, decision.next_stage.queue, decision.result, decision.status)
        else:
            fields = {"result": decision.result, "progress": "100", "status": decision.status}
            self.store.finish(a.job_id, a.token, State.SUCCESS, fields, stat=decision.stat)
            self.metrics.job_finished(job.task_type, a.queue, State.SUCCESS)
        self._publish(a.job_id)

    def _failed(self, a: Attempt, exc: BaseException) -> None:
        cause = exc.cause if isinstance(exc, ray.exceptions.RayTaskError) and exc.cause is not None else exc
        tb = str(exc) if isinstance(exc, ray.exceptions.RayTaskError) else "".join(traceback.format_exception(exc))
        self.metrics.attempt_finished(a.spec.name, a.queue, time.monotonic() - a.limits.started)
        job = self.store.get(a.job_id)
        if job is None:
            return
        stages = registry.get(job.task_type).stage_specs()
        decision = failed(a.limits, job, stages, cause, self.config.backoff_scale)
        if isinstance(decision, Revoked):
            self.store.finish(a.job_id, a.token, State.REVOKED, {"status": decision.status}, stat="revoked")
            self.metrics.job_finished(job.task_type, a.queue, State.REVOKED)
            self._publish(a.job_id)
            return
        fields = {
            "error": decision.error,
            "error_type": decision.error_type,
            "traceback": tb[-20_000:],
            "status": decision.status,
        }
        if isinstance(decision, Retry):
            retry_at = time.time() + decision.delay
            self.store.finish(a.job_id, a.token, State.RETRY, fields, stat="retried", retry_at=retry_at)
            self.metrics.retried(a.spec.name, a.queue)
        else:
            self.store.finish(a.job_id, a.token, State.FAILURE, fields, stat="failed", dead_letter=True)
            self.metrics.job_finished(job.task_type, a.queue, State.FAILURE)
        self._publish(a.job_id)

    def _publish(self, job_id: str) -> None:
        """State-change events are best effort: the job hash is the record, the channel only tells watchers."""
        try:
            job: Job | None = self.store.get(job_id)
            if job is not None:
                self.store.publish(job.owner, event(job))
        except redis.RedisError as e:
            log.warning("could not publish the state of %s (%s)", job_id, e)


def actor_class() -> Any:
    """The Ray actor: detached, restarted without limit, never counted against a queue's slots."""
    remote: Any = ray.remote  # its typed overloads do not know every actor option
    return remote(num_cpus=0, max_restarts=-1, max_task_retries=-1, max_concurrency=1000)(Dispatcher)
