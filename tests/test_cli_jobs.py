"""`reels worker` and `reels jobs …` as a user runs them: separate processes, a real Redis, a real local Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from actors.job_store import JobStore

REELS = str(Path(sys.executable).with_name("reels"))


def reels(env: dict[str, str], *args: str, timeout: float = 120) -> tuple[int, Any, str]:
    proc = subprocess.run([REELS, *args], capture_output=True, text=True, env=env, timeout=timeout)
    out = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else proc.stdout
    return proc.returncode, out, proc.stderr


@pytest.fixture
def worker(redis_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "REELS_REDIS_URL": redis_url,
        "REELS_DATA_DIR": str(tmp_path / "data"),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    proc = subprocess.Popen(
        [REELS, "worker", "--seconds", "300"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once Ray and the Dispatcher are up
    assert "reels worker: redis" in line, proc.stderr.read() if proc.poll() is not None else line
    yield env
    proc.terminate()
    proc.wait(timeout=60)


def test_worker_runs_submitted_jobs_and_jobs_commands_inspect_them(worker: dict[str, str]) -> None:
    code, job, err = reels(
        worker,
        "jobs",
        "submit",
        "generate_content",
        "--param",
        "topic=Why cats purr",
        "--param",
        "target_seconds=20",
        "--priority",
        "8",
        "--wait",
        "--json",
    )
    assert code == 0, err
    assert job["state"] == "SUCCESS" and "cats purr" in job["result"]["script"]["hook"].lower()
    code, status, _ = reels(worker, "jobs", "status", job["task_id"], "--json")
    assert status["state"] == "SUCCESS" and status["priority"] == 8
    code, listed, _ = reels(worker, "jobs", "list", "--json")
    assert [t["task_id"] for t in listed["tasks"]] == [job["task_id"]]
    code, queues, _ = reels(worker, "jobs", "queues", "--json")
    assert queues["queues"]["content"]["completed"] == 1


def test_jobs_submit_refuses_bad_input_naming_the_field(redis_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "REELS_REDIS_URL": redis_url}
    for args, needle in [
        (["generate_content", "--param", "topic=x", "--priority", "11"], "priority: 11 is outside 0–10"),
        (["render_everything"], "unknown task type 'render_everything'"),
        (["generate_content", "--param", "target_seconds=5"], "params.topic: Field required"),
        (["generate_content", "--param", "topic"], "--param: 'topic' is not KEY=VALUE"),
    ]:
        code, _, err = reels(env, "jobs", "submit", *args)
        assert code == 2 and needle in err and "Traceback" not in err
    assert JobStore(redis_url).pending_count("content") == 0
