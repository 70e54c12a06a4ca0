"""Fault tests: a killed worker, a killed Dispatcher, a restarted redis-server. No job is lost or run twice at once."""

from __future__ import annotations

import itertools
import os
import signal
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import ray
import redis

from actors.client import JobClient
from actors.dispatcher import NAME, NAMESPACE
from actors.jobs import State
from tests.media import ffprobe, stream
from tests.services import wait_for

pytestmark = pytest.mark.fault


def r(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def no_overlap_per_tag(url: str) -> None:
    """The same job never ran in two attempts at the same time."""
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in r(url).lrange("test:intervals", 0, -1):
        tag, a, b = line.split()
        spans[tag].append((float(a), float(b)))
    for tag, runs in spans.items():
        runs.sort()
        for (_, end), (start, _) in itertools.pairwise(runs):
            assert start >= end - 0.05, f"{tag} ran twice at once: {runs}"


def test_killed_worker_mid_render_still_completes_once(client: JobClient, system: dict[str, Any]) -> None:
    job = client.submit("u", "generate_video", {"topic": "Tides", "target_seconds": 3, "size": "180x320"})
    wait_for(
        lambda: client.status(job.id).progress >= 30 and client.status(job.id).stage == "generate_video", timeout=120
    )
    pid = int(r(system["config"].redis_url).hget(client.store.key(job.id), "worker_pid") or 0)
    os.kill(pid, signal.SIGKILL)
    done = client.wait(job.id, 180)
    assert done.state == State.SUCCESS and done.attempts == 2, done.error
    outputs = list((Path(system["config"].data_dir) / "outputs" / job.id).glob("*.mp4"))
    assert [p.name for p in outputs] == ["reel.mp4"]
    v = stream(ffprobe(outputs[0]), "video")
    assert (v["width"], v["height"]) == (180, 320)
    assert client.store.stats("video")["completed"] == 1


def test_killed_dispatcher_restarts_and_runs_every_pending_job(client: JobClient, system: dict[str, Any]) -> None:
    d = system["dispatcher"]
    ray.get(d.set_cap.remote("content", 1))
    ids = [client.submit("u", "t_sleep", {"tag": f"k{i}", "seconds": 0.3}).id for i in range(6)]
    wait_for(lambda: client.status(ids[0]).state == State.SUCCESS, timeout=30)
    before = ray.get(d.ping.remote())["pid"]
    ray.kill(d, no_restart=False)
    for i in ids:
        assert client.wait(i, 60).state == State.SUCCESS
    after = ray.get(ray.get_actor(NAME, namespace=NAMESPACE).ping.remote())
    assert after["pid"] != before and after["caps"]["content"] == 1  # caps set at run time survive the restart
    no_overlap_per_tag(system["config"].redis_url)


def test_redis_restart_loses_no_job_record(client: JobClient, system: dict[str, Any]) -> None:
    server = system["redis"]
    ray.get(system["dispatcher"].set_cap.remote("content", 2))
    ids = [client.submit("u", "t_sleep_retry", {"tag": f"r{i}", "seconds": 0.2}).id for i in range(10)]
    wait_for(lambda: sum(client.status(i).state == State.SUCCESS for i in ids) >= 3, timeout=30)
    server.kill()  # SIGKILL: only what the AOF holds survives
    server.start()
    for i in ids:
        try:
            assert client.wait(i, 90).state == State.SUCCESS
        except TimeoutError:
            job = client.status(i)
            ping = ray.get(system["dispatcher"].ping.remote())
            raise AssertionError(f"{job} running={client.store.running('content')} dispatcher={ping}") from None
    assert len(client.store.owner_jobs("u", 0, 100)) == 10
    no_overlap_per_tag(system["config"].redis_url)
