"""The job system on a real local Ray and a real redis-server: priorities, caps, cancel, retries, limits."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import ray
import redis

from actors.client import JobClient
from actors.jobs import State
from pipeline.errors import InvalidInputError
from tests.services import wait_for


def r(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def test_priority_decides_order_fifo_within_a_priority(client: JobClient, system: dict[str, Any]) -> None:
    ray.get(system["dispatcher"].set_cap.remote("content", 1))
    blocker = client.submit("u", "t_sleep", {"tag": "blocker", "seconds": 1.0})
    wait_for(lambda: client.status(blocker.id).state in (State.STARTED, State.PROGRESS))
    ids = [
        client.submit("u", "t_sleep", {"tag": tag}, priority=p).id
        for tag, p in [("p0a", 0), ("p5a", 5), ("p10", 10), ("p5b", 5), ("p0b", 0)]
    ]
    for i in ids:
        assert client.wait(i, 30).state == State.SUCCESS
    assert r(system["config"].redis_url).lrange("test:started", 0, -1) == ["blocker", "p10", "p5a", "p5b", "p0a", "p0b"]


def test_caps_bound_concurrency_and_change_at_run_time(client: JobClient, system: dict[str, Any]) -> None:
    d = system["dispatcher"]
    ray.get(d.set_cap.remote("content", 2))
    ids = [client.submit("u", "t_sleep", {"tag": f"c{i}", "seconds": 0.4}).id for i in range(6)]
    peak = 0

    def all_done() -> bool:
        nonlocal peak
        peak = max(peak, len(client.store.running("content")))
        return all(client.status(i).state == State.SUCCESS for i in ids)

    wait_for(all_done, timeout=30, interval=0.02)
    assert peak == 2
    ray.get(d.set_cap.remote("content", 0))
    held = client.submit("u", "t_sleep", {"tag": "held"})
    with pytest.raises(TimeoutError):
        client.wait(held.id, timeout=0.5)
    assert client.status(held.id).state == State.PENDING
    ray.get(d.set_cap.remote("content", 1))
    assert client.wait(held.id, 10).state == State.SUCCESS


def test_cancel_pending_and_running(client: JobClient, system: dict[str, Any]) -> None:
    ray.get(system["dispatcher"].set_cap.remote("content", 1))
    running = client.submit("u", "t_sleep", {"tag": "long", "seconds": 30})
    pending = client.submit("u", "t_sleep", {"tag": "never"})
    wait_for(lambda: client.status(running.id).progress > 0)
    assert client.cancel(pending.id) == "REVOKED"
    client.cancel(running.id)
    assert client.wait(running.id, 10).state == State.REVOKED
    assert client.status(pending.id).state == State.REVOKED
    conn = r(system["config"].redis_url)
    wait_for(lambda: "long" in conn.lrange("test:cleaned", 0, -1))  # its cleanup ran
    assert "never" not in conn.lrange("test:started", 0, -1)
    assert not (Path(system["config"].data_dir) / "work" / running.id).exists()


def test_retries_back_off_then_succeed(client: JobClient, system: dict[str, Any]) -> None:
    job = client.submit("u", "t_flaky", {"tag": "f2", "fail_times": 2})
    done = client.wait(job.id, 30)
    assert done.state == State.SUCCESS and done.attempts == 3
    times = [float(t) for t in r(system["config"].redis_url).lrange("test:attempt_times:f2", 0, -1)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # backoff_s=50 scaled by 0.01: 0.5 s then 1.0 s, each ±20 % jitter, plus up to ~0.4 s of scheduling
    assert 0.4 <= gaps[0] <= 1.0 and 0.8 <= gaps[1] <= 1.6, gaps
    assert client.store.stats("content").get("retry_success") == 1


def test_always_failing_task_ends_in_the_dead_letter_queue(client: JobClient) -> None:
    job = client.submit("u", "t_flaky", {"tag": "never", "fail_times": 99})
    dead = client.wait(job.id, 30)
    assert dead.state == State.FAILURE and dead.attempts == 3
    assert client.store.dlq() == [job.id]
    assert "RuntimeError" in dead.error and "flaky failure for never" in dead.traceback


def test_non_retryable_error_goes_to_the_dlq_at_once(client: JobClient) -> None:
    job = client.submit("u", "t_invalid", {"tag": "x"})
    dead = client.wait(job.id, 30)
    assert dead.state == State.FAILURE and dead.attempts == 1 and dead.error_type == "InvalidInputError"
    assert client.store.dlq() == [job.id]


def test_soft_time_limit_lets_the_task_clean_up(client: JobClient, system: dict[str, Any]) -> None:
    job = client.submit("u", "t_soft", {"tag": "soft", "seconds": 30})
    done = client.wait(job.id, 15)
    assert done.state == State.FAILURE and "soft time limit of 1 s" in done.error
    wait_for(lambda: "soft" in r(system["config"].redis_url).lrange("test:cleaned", 0, -1))


def test_hard_time_limit_kills_a_stuck_task(client: JobClient, system: dict[str, Any]) -> None:
    job = client.submit("u", "t_stuck", {"tag": "stuck"})
    done = client.wait(job.id, 15)
    assert done.state == State.FAILURE and "hard time limit of 2.5 s" in done.error
    assert done.execution_time < 6
    assert r(system["config"].redis_url).lrange("test:ignored_cancel", 0, -1) == ["stuck"]


def test_bad_submissions_are_refused_before_queueing(client: JobClient) -> None:
    with pytest.raises(InvalidInputError, match="unknown task type 'nope'"):
        client.submit("u", "nope", {})
    with pytest.raises(InvalidInputError) as e:
        client.submit("u", "generate_content", {"topic": "x"}, priority=11)
    assert e.value.field == "priority"
    with pytest.raises(InvalidInputError) as e:
        client.submit("u", "generate_content", {"topic": "x", "target_seconds": "soon"})
    assert e.value.field == "params.target_seconds"
    with pytest.raises(InvalidInputError) as e:
        client.submit("u", "generate_content", {"topic": "x", "colour": "red"})
    assert e.value.field == "params.colour"
    assert client.store.pending_count("content") == 0


def test_content_job_runs_the_real_pipeline(client: JobClient) -> None:
    job = client.submit("alice", "generate_content", {"topic": "Why the sky is blue", "target_audience": "kids"})
    done = client.wait(job.id, 60)
    assert done.state == State.SUCCESS, done.error
    assert "sky is blue" in done.result["script"]["hook"].lower()
    assert Path(done.result["script_artifact"]).is_file()


def test_batch_is_one_request_many_jobs(client: JobClient) -> None:
    batch_id, jobs = client.submit_batch("u", "t_sleep", [{"tag": f"b{i}"} for i in range(4)])
    for j in jobs:
        client.wait(j.id, 30)
    status = client.batch_status(batch_id)
    assert status["total"] == 4 and status["done"] and status["states"] == {"SUCCESS": 4}
    with pytest.raises(InvalidInputError) as e:
        client.submit_batch("u", "t_sleep", [{"tag": "ok"}, {"tag": 5}])
    assert e.value.field == "items[1].params.tag"


def test_gpu_job_on_a_cpu_only_cluster_says_it_is_waiting(client: JobClient) -> None:
    job = client.submit("u", "process_ultra_quality_video", {"topic": "Stars", "size": "180x320"})
    waiting = wait_for(lambda: (j := client.status(job.id)).status.startswith("waiting for a GPU node") and j, 10)
    assert waiting.state == State.PENDING and "REELS_ALLOW_GPU_ON_CPU" in waiting.status
    assert client.cancel(job.id) == "REVOKED"
