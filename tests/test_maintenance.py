"""The beat schedule's jobs, called directly, and the Scheduler actor running them on short intervals."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import ray

from actors.job_store import JobStore
from actors.jobs import Job, State
from actors.maintenance import (
    Schedule,
    Scheduler,
    check_failed_tasks,
    cleanup_temp_files,
    generate_daily_report,
    update_usage_statistics,
)
from tests.services import wait_for

# A key prefix of their own: the session's Dispatcher (prefix reels:) must not claim these jobs.
UNIT = "unit:"


def finished(s: JobStore, state: State, seconds: float = 1.0, task_type: str = "generate_content") -> str:
    j = s.create(Job(Job.new_id(), "u", task_type, "content", 5, {}))
    token = f"t-{j.id}"
    assert s.claim("content", token) == j.id
    s.r.hset(s.key(j.id), "started", time.time() - seconds)
    s.finish(
        j.id,
        token,
        state,
        {},
        stat="completed" if state == State.SUCCESS else "failed",
        dead_letter=state == State.FAILURE,
    )
    return j.id


def test_cleanup_removes_work_of_finished_or_unknown_jobs_only(redis_url: str, tmp_path: Path) -> None:
    s = JobStore(redis_url, UNIT)
    done = finished(s, State.SUCCESS)
    live = s.create(Job(Job.new_id(), "u", "generate_content", "content", 5, {}))
    for name in (done, live.id, "ghost"):
        (tmp_path / "work" / name).mkdir(parents=True)
        (tmp_path / "work" / name / "tmp.wav").write_bytes(b"x")
    removed = cleanup_temp_files(s, tmp_path, max_age_s=3600)
    assert sorted(removed) == sorted([done, "ghost"])
    assert [p.name for p in (tmp_path / "work").iterdir()] == [live.id]


def test_failure_rate_alert(redis_url: str) -> None:
    s = JobStore(redis_url, UNIT)
    schedule = Schedule(failure_rate_alert=0.2, min_sample=5)
    for _ in range(9):
        finished(s, State.SUCCESS)
    finished(s, State.FAILURE)
    assert check_failed_tasks(s, 300, schedule) is None  # 10 % failed
    for _ in range(3):
        finished(s, State.FAILURE)
    alert = check_failed_tasks(s, 300, schedule)
    assert alert is not None and alert["failed"] == 4 and alert["total"] == 13 and alert["rate"] > 0.2
    assert json.loads(s.r.lindex(f"{s.p}alerts", 0))["failed"] == 4


def test_usage_snapshot_and_daily_report(redis_url: str) -> None:
    s = JobStore(redis_url, UNIT)
    for seconds in (1.0, 2.0, 3.0, 10.0):
        finished(s, State.SUCCESS, seconds)
    finished(s, State.FAILURE, 1.0, "generate_speech")
    snap = update_usage_statistics(s)
    assert snap["queues"]["content"]["completed"] == 4 and snap["queues"]["content"]["failed"] == 1
    report = generate_daily_report(s, dt.datetime.now(dt.UTC).date())
    content = report["task_types"]["generate_content"]
    assert content["succeeded"] == 4 and 2.0 <= content["p50_s"] <= 3.1 and content["p95_s"] >= 9.9
    assert report["task_types"]["generate_speech"] == {"succeeded": 0, "failed": 1, "p50_s": 0.0, "p95_s": 0.0}


def test_scheduler_actor_runs_each_job_on_its_interval(ray_local: None, redis_url: str, tmp_path: Path) -> None:
    schedule = Schedule(cleanup_s=0.2, failed_check_s=0.2, usage_s=0.2)
    actor: Any = ray.remote(Scheduler).options(num_cpus=0).remote(redis_url, str(tmp_path), schedule)
    try:
        status = wait_for(
            lambda: (st := ray.get(actor.status.remote()))["runs"].get("update_usage_statistics", 0) >= 3 and st,
            timeout=20,
        )
        assert status["runs"]["cleanup_temp_files"] >= 2 and status["runs"]["check_failed_tasks"] >= 2
        assert status["runs"]["generate_daily_report"] == 1
        assert JobStore(redis_url, UNIT).r.exists("reels:usage:latest")
    finally:
        ray.kill(actor)
