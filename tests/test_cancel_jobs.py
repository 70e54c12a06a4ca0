"""Cancel through the job system on a real Ray and Redis: a running render is REVOKED within 2 s, its slot is free
again, it leaves no file, and a cancelled job is never retried, even when it had to be killed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import ray

from actors.client import JobClient
from actors.jobs import State
from tests.conftest import requires_espeak
from tests.services import wait_for


@requires_espeak
def test_a_running_render_is_revoked_within_two_seconds(client: JobClient, system: dict[str, Any]) -> None:
    ray.get(system["dispatcher"].set_cap.remote("video", 1))
    params = {"topic": "How tides work", "size": "540x960", "target_seconds": 20}
    job = client.submit("u", "generate_video", params)
    wait_for(lambda: client.status(job.id).status == "rendering" and client.status(job.id).progress > 30, 120)
    t0 = time.monotonic()
    assert client.cancel(job.id) == "CANCELLING"
    done = client.wait(job.id, 10)
    took = time.monotonic() - t0
    assert done.state == State.REVOKED and took < 2.0, (done.state, took)
    assert done.attempts == 1 and done.progress < 90
    data = Path(system["config"].data_dir)
    assert not (data / "outputs" / job.id / "reel.mp4").exists()
    assert not list((data / "outputs" / job.id).glob("*.mp4*"))  # no temp file either
    assert not (data / "work" / job.id).exists()
    assert client.store.running("video") == set()  # the slot is free: the next job starts
    after = client.submit("u", "t_sleep", {"tag": "next", "seconds": 0.1})
    assert client.wait(after.id, 20).state == State.SUCCESS


def test_a_cancelled_job_that_ignores_the_stop_is_killed_and_never_retried(
    client: JobClient, system: dict[str, Any]
) -> None:
    job = client.submit("u", "t_stuck_retry", {"tag": "deaf"})
    wait_for(lambda: client.status(job.id).state in (State.STARTED, State.PROGRESS))
    client.cancel(job.id)
    done = client.wait(job.id, 15)
    assert done.state == State.REVOKED and done.attempts == 1
    assert client.store.dlq() == [] and client.store.stats("content").get("retried", 0) == 0
    assert client.status(job.id).state == State.REVOKED and client.store.pending_count("content") == 0
