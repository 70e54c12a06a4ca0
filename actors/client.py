"""The Python client notebooks, the CLI and the API use: submit, status, cancel, wait, batches."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import ray

from actors import registry
from actors.dispatcher import NAME, NAMESPACE
from actors.job_store import JobStore
from actors.jobs import TERMINAL, Job
from actors.quota import Quota, render_seconds
from pipeline.errors import InvalidInputError


class JobClient:
    def __init__(self, redis_url: str, task_modules: tuple[str, ...] = ()) -> None:
        registry.load(task_modules)
        self.store = JobStore(redis_url)
        self._handle: Any | None = None
        self._looked_up = -1e9

    def _dispatcher(self) -> Any | None:
        """The running Dispatcher when this process is connected to Ray; None otherwise (the Dispatcher polls Redis
        every few tens of milliseconds, so new jobs and cancel flags still reach it)."""
        if not ray.is_initialized():
            return None  # ray.get_actor would start a whole local Ray just to find nothing
        now = time.monotonic()
        if self._handle is None and now - self._looked_up > 5.0:  # one GCS lookup, not one per submission
            self._looked_up = now
            with contextlib.suppress(ValueError):  # not started yet: jobs wait in Redis until it is
                self._handle = ray.get_actor(NAME, namespace=NAMESPACE)
        return self._handle

    def submit(
        self,
        owner: str,
        task_type: str,
        params: dict[str, Any],
        priority: int = 5,
        project: str = "",
        parent: str = "",
        quota: Quota | None = None,
    ) -> Job:
        """Validate, then store the job PENDING; nothing is queued when any check fails (QuotaExceeded when the
        owner's `quota` has no room for it)."""
        job = self._job(owner, task_type, params, priority, project, parent)
        self.store.enqueue([job], [render_seconds(task_type, job.params)], quota)
        d = self._dispatcher()
        if d is not None:
            d.wake.remote()
        return job

    def _job(self, owner: str, task_type: str, params: dict[str, Any], priority: int, project: str, parent: str) -> Job:
        if not owner or len(owner) > 128:
            raise InvalidInputError("owner", "must be 1–128 characters")
        if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 10:
            raise InvalidInputError("priority", f"{priority!r} is outside 0–10")
        spec, clean = registry.validate(task_type, params)
        first = spec.stage_specs()[0]
        return Job(Job.new_id(), owner, task_type, first.queue, priority, clean, project=project, parent=parent)

    def submit_batch(
        self, owner: str, task_type: str, items: list[dict[str, Any]], priority: int = 5, quota: Quota | None = None
    ) -> tuple[str, list[Job]]:
        """One request, many jobs: all items are validated, and the whole batch admitted to the owner's quota,
        before any is queued."""
        if not items:
            raise InvalidInputError("items", "a batch needs at least one item")
        batch_id = Job.new_id()
        jobs = []
        for i, params in enumerate(items):
            try:
                jobs.append(self._job(owner, task_type, params, priority, "", batch_id))
            except InvalidInputError as e:
                raise InvalidInputError(f"items[{i}].{e.field}", e.reason) from None
        self.store.enqueue(jobs, [render_seconds(task_type, j.params) for j in jobs], quota)
        d = self._dispatcher()
        if d is not None:
            d.wake.remote()
        self.store.create_batch(batch_id, owner, [j.id for j in jobs])
        return batch_id, jobs

    def batch_owner(self, batch_id: str) -> str | None:
        return self.store.batch_owner(batch_id) if len(batch_id) <= 64 else None

    def batch_status(self, batch_id: str) -> dict[str, Any]:
        ids = self.store.batch_ids(batch_id)
        jobs = [j for j in (self.store.get(i) for i in ids) if j is not None]
        states: dict[str, int] = {}
        for j in jobs:
            states[j.state.value] = states.get(j.state.value, 0) + 1
        progress = sum(j.progress for j in jobs) / len(jobs) if jobs else 0.0
        done = all(j.state in TERMINAL for j in jobs)
        return {
            "batch_id": batch_id,
            "total": len(jobs),
            "states": states,
            "progress": round(progress),
            "done": done,
            "task_ids": ids,
        }

    def status(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise InvalidInputError("task_id", f"no task {job_id}")
        return job

    def cancel(self, job_id: str) -> str:
        self.status(job_id)
        d = self._dispatcher()
        if d is not None:
            try:
                return str(ray.get(d.cancel.remote(job_id), timeout=30))
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                self._handle = None  # gone or stuck: the cancel flag in Redis reaches its successor
        return self.store.cancel(job_id)

    def wait(self, job_id: str, timeout: float = 300.0, interval: float = 0.05) -> Job:
        deadline = time.monotonic() + timeout
        while True:
            job = self.status(job_id)
            if job.state in TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {job_id} still {job.state} after {timeout} s ({job.status})")
            time.sleep(interval)
