"""One attempt of one stage, on a Ray worker: load the job, run its stage with a progress channel, clean up."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import redis

from actors import registry
from actors.artifacts import ArtifactStore
from actors.job_store import JobStore
from actors.progress import ProgressChannel
from actors.registry import RuntimeConfig, StageContext
from pipeline.errors import InvalidInputError

T = TypeVar("T")


def stage_params(spec: registry.TaskSpec, params: dict[str, Any]) -> Any:
    """The fields of a job's params that this stage's model knows (a workflow's params serve every stage)."""
    known = spec.params.model_fields
    return spec.params.model_validate({k: v for k, v in params.items() if k in known})


def _with_redis(call: Callable[[], T], patience_s: float = 15.0) -> T:
    """Ride out a Redis restart (seconds) instead of failing the attempt before it starts."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            return call()
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run_attempt(job_id: str, token: str, config: RuntimeConfig) -> dict[str, Any]:
    registry.load(config.task_modules)
    store = JobStore(config.redis_url)
    job = _with_redis(lambda: store.get(job_id))
    if job is None:
        raise InvalidInputError("task_id", f"job {job_id} is not in the store")
    spec = registry.get(job.task_type)
    k = job.stage_index
    stage = spec.stage_specs()[k]
    channel = ProgressChannel(store, job, token, stage.name, spec.stage_span(k), config.progress_interval_s)
    # Where the attempt runs, for admins (and fault tests that kill it).
    _with_redis(lambda: store.record_worker(job_id, os.getpid(), socket.gethostname()))
    work = Path(config.data_dir) / "work" / job_id
    work.mkdir(parents=True, exist_ok=True)
    try:
        ctx = StageContext(
            job, channel, work, ArtifactStore(Path(config.data_dir) / "artifacts"), config, inputs=dict(job.result)
        )
        assert stage.run is not None
        channel(0.0, f"{stage.name} started")
        return stage.run(stage_params(stage, job.params), ctx)
    finally:
        # Runs on success, failure and a soft time limit or cancel (Ray raises KeyboardInterrupt in the task).
        shutil.rmtree(work, ignore_errors=True)
