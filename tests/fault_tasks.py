"""Task types for the job-system tests: they sleep, fail, crash or hang on purpose and record what happened."""

from __future__ import annotations

import os
import time
from typing import Any

import redis

from actors.registry import StageContext, TaskSpec, register
from actors.tasks import Params
from pipeline.errors import InvalidInputError


class Probe(Params):
    tag: str = ""
    seconds: float = 0.0
    fail_times: int = 0
    crash_first: bool = False


def _r(ctx: StageContext) -> Any:
    return redis.Redis.from_url(ctx.config.redis_url, decode_responses=True, socket_timeout=10)


def sleep_task(p: Probe, ctx: StageContext) -> dict[str, Any]:
    r = _r(ctx)
    r.rpush("test:started", p.tag)
    began = time.time()
    try:
        steps = max(1, int(p.seconds / 0.05))
        for i in range(steps):
            time.sleep(p.seconds / steps)
            ctx.progress((i + 1) / steps, f"step {i + 1}")
        return {"tag": p.tag}
    finally:
        r.rpush("test:cleaned", p.tag)
        r.rpush("test:intervals", f"{p.tag} {began!r} {time.time()!r}")


def flaky_task(p: Probe, ctx: StageContext) -> dict[str, Any]:
    r = _r(ctx)
    r.rpush(f"test:attempt_times:{p.tag}", repr(time.time()))
    if r.incr(f"test:attempts:{p.tag}") <= p.fail_times:
        raise RuntimeError(f"flaky failure for {p.tag}")
    return {"tag": p.tag}


def invalid_task(p: Probe, ctx: StageContext) -> dict[str, Any]:
    raise InvalidInputError("params.tag", "this input can never work")


def stuck_task(p: Probe, ctx: StageContext) -> dict[str, Any]:
    r = _r(ctx)
    r.rpush("test:started", p.tag)
    deadline = time.time() + 60
    while time.time() < deadline:  # ignores the polite KeyboardInterrupt: only a hard kill stops it
        try:
            time.sleep(0.05)
        except KeyboardInterrupt:
            r.rpush("test:ignored_cancel", p.tag)
    return {}


def crash_task(p: Probe, ctx: StageContext) -> dict[str, Any]:
    r = _r(ctx)
    if p.crash_first and r.incr(f"test:crash:{p.tag}") == 1:
        os._exit(1)  # a worker crash, not an exception: Ray reports a system failure
    r.rpush("test:outputs", p.tag)
    return {"tag": p.tag}


register(TaskSpec("t_sleep", "content", Probe, sleep_task, max_retries=0, soft_limit_s=30, hard_limit_s=60))
register(TaskSpec("t_sleep_retry", "content", Probe, sleep_task, max_retries=5, backoff_s=20))
register(TaskSpec("t_flaky", "content", Probe, flaky_task, max_retries=2, backoff_s=50))
register(TaskSpec("t_invalid", "content", Probe, invalid_task, max_retries=3, backoff_s=10))
register(TaskSpec("t_soft", "content", Probe, sleep_task, max_retries=0, soft_limit_s=1, hard_limit_s=20))
register(TaskSpec("t_stuck", "content", Probe, stuck_task, max_retries=0, soft_limit_s=1, hard_limit_s=2.5))
register(TaskSpec("t_crash", "video", Probe, crash_task, max_retries=2, backoff_s=10))


def count_task(p: Probe, ctx: StageContext) -> dict[str, Any]:
    _r(ctx).incr(f"test:stage_a:{p.tag}")
    ctx.progress(0.5, "half of stage a")
    return {"a": f"made by stage a for {p.tag}"}


def use_a_task(p: Probe, ctx: StageContext) -> dict[str, Any]:
    if "a" not in ctx.inputs:
        raise KeyError("stage b needs stage a's output")
    r = _r(ctx)
    if r.incr(f"test:stage_b:{p.tag}") <= p.fail_times:
        raise RuntimeError("stage b fails once")
    return {"b": ctx.inputs["a"].upper()}


register(TaskSpec("t_stage_a", "content", Probe, count_task, max_retries=0))
register(TaskSpec("t_stage_b", "video", Probe, use_a_task, max_retries=2, backoff_s=10))
register(TaskSpec("t_workflow", "content", Probe, stages=("t_stage_a", "t_stage_b")))


def where_task(p: Probe, ctx: StageContext) -> dict[str, Any]:
    """Which node ran this stage, and what that node offers (the autoscaling test)."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    resources = next((n["Resources"] for n in ray.nodes() if n["NodeID"] == node), {})
    return {"node": node, "resources": resources}


register(TaskSpec("t_gpu_where", "gpu", Probe, where_task, max_retries=0, num_gpus=1.0))
register(
    TaskSpec(
        "t_stuck_retry", "content", Probe, stuck_task, max_retries=3, backoff_s=10, soft_limit_s=30, hard_limit_s=60
    )
)
