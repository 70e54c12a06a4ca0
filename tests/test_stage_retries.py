"""Retries are counted per stage: a workflow's earlier stages never use up a later stage's retries or lengthen its
backoff, the status shows attempts per stage and in total, and only real retries count as retry successes."""

from __future__ import annotations

import json
from typing import Any

import redis

from actors.client import JobClient
from actors.jobs import State
from actors.maintenance import performance
from serve_app.api.services import ReelsService
from serve_app.config import ApiConfig
from tests.conftest import MODULES


def _statuses(pubsub: Any) -> list[str]:
    out = []
    while (message := pubsub.get_message(timeout=0.05)) is not None:
        if message["type"] == "message":
            out.append(json.loads(message["data"])["status"])
    return out


def test_a_later_stage_gets_its_full_retries_with_the_first_backoff(
    client: JobClient, system: dict[str, Any], redis_url: str
) -> None:
    pubsub = redis.Redis.from_url(redis_url, decode_responses=True).pubsub()
    pubsub.subscribe(client.store.channel("u"))
    # Stage a succeeds at once; stage b (2 retries) fails twice, then succeeds: within its own budget.
    job = client.submit("u", "t_workflow", {"tag": "twice", "fail_times": 2})
    done = client.wait(job.id, 60)
    assert done.state == State.SUCCESS, done.status
    retries = [s.split(" in ")[0] for s in _statuses(pubsub) if s.startswith("retry")]
    assert retries == ["retry t_stage_b 1/2", "retry t_stage_b 2/2"]
    assert (done.attempts, done.stage_attempts) == (4, [1, 3])
    view = ReelsService(ApiConfig(redis_url, str(system["data"]), task_modules=MODULES)).public(done)
    assert (view.attempts, view.stage_attempts) == (4, [1, 3])


def test_only_jobs_that_needed_a_retry_count_towards_the_retry_success_rate(client: JobClient) -> None:
    plain = client.submit("u", "t_workflow", {"tag": "once"})  # two stages, one attempt each: no retry
    retried_ok = client.submit("u", "t_flaky", {"tag": "ok", "fail_times": 1})
    retried_failed = client.submit("u", "t_flaky", {"tag": "bad", "fail_times": 9})
    for j in (plain, retried_ok, retried_failed):
        client.wait(j.id, 60)
    assert client.status(plain.id).stage_attempts == [1, 1]
    assert client.status(retried_failed.id).state == State.FAILURE
    assert performance(client.store, 3600)["retry_success_rate"] == 0.5
    assert client.store.stats("video").get("retry_success", 0) in (0, "0")  # the workflow's last stage ran once
