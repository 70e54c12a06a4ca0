"""The job-system metrics: the Redis snapshot behind the gauges, and every metric read back from Ray's Prometheus
export (the node's metrics agent, which also serves the dashboard's metrics view)."""

from __future__ import annotations

import urllib.request
from collections import defaultdict
from typing import Any

import ray

from actors.client import JobClient
from actors.job_store import JobStore
from actors.jobs import Job, State
from actors.metrics import ALL, snapshot
from tests.services import wait_for

Sample = tuple[str, dict[str, str], float]


def test_snapshot_counts_states_per_queue_and_totals(redis_url: str) -> None:
    store = JobStore(redis_url, "metrics-unit:")  # not reels:, so the session's Dispatcher leaves these jobs alone

    def new(queue: str) -> str:
        return store.create(Job(Job.new_id(), "u", "t", queue, 5, {})).id

    for q in ("content", "content", "content", "video"):
        new(q)
    started = store.claim("content", "tok1")
    progressing = store.claim("content", "tok2")
    assert started and progressing and store.report(progressing, "tok2", 10, "working", "s")
    dead = store.claim("video", "tok3")
    assert dead and store.finish(dead, "tok3", State.FAILURE, dead_letter=True)
    snap = snapshot(store)
    assert snap.queue_depth == {"content": 1, "speech": 0, "video": 0, "gpu": 0, "social": 0}
    assert snap.dead_letters == 1
    jobs = snap.jobs
    assert [jobs[(s, "content")] for s in ("PENDING", "STARTED", "PROGRESS")] == [1, 1, 1]
    assert [jobs[(s, "video")] for s in ("PENDING", "STARTED", "PROGRESS")] == [0, 0, 0]
    assert {s: jobs[(s, ALL)] for s in State} == {
        "PENDING": 1,
        "STARTED": 1,
        "PROGRESS": 1,
        "RETRY": 0,
        "SUCCESS": 0,
        "FAILURE": 1,
        "REVOKED": 0,
    }


def scrape(port: int) -> list[Sample]:
    """Prometheus text format, simply: `name{k="v",...} value` lines (label values here hold no commas or quotes)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out: list[Sample] = []
    for line in text.splitlines():
        if not line.startswith("ray_reels_"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        pairs = (kv.split("=", 1) for kv in labels.rstrip("}").split(",") if "=" in kv)
        out.append((name, {k: v.strip('"') for k, v in pairs}, float(value)))
    return out


def total(samples: list[Sample], name: str, **labels: str) -> float:
    """A counter's value summed over every series that matches (each Dispatcher incarnation has its own)."""
    return sum(v for n, ls, v in samples if n == name and all(ls.get(k) == x for k, x in labels.items()))


def gauges_by_worker(samples: list[Sample]) -> dict[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    """Gauges per Dispatcher process: a previous incarnation's series lingers until Ray's gauge TTL drops it."""
    out: dict[str, dict[tuple[str, frozenset[tuple[str, str]]], float]] = defaultdict(dict)
    for n, ls, v in samples:
        tags = frozenset((k, x) for k, x in ls.items() if k in ("state", "queue"))
        out[ls.get("WorkerId", "")][(n, tags)] = v
    return out


def test_metrics_reach_the_ray_prometheus_export(client: JobClient, system: dict[str, Any], metrics_port: int) -> None:
    counters = {
        "sleep_seconds": ("ray_reels_stage_seconds_count", {"task_type": "t_sleep", "queue": "content"}),
        "flaky_retries": ("ray_reels_retries_total", {"task_type": "t_flaky", "queue": "content"}),
        "sleep_ok": ("ray_reels_finished_total", {"task_type": "t_sleep", "state": "SUCCESS"}),
        "invalid_dead": ("ray_reels_finished_total", {"task_type": "t_invalid", "state": "FAILURE"}),
    }
    before = scrape(metrics_port)  # the session's Dispatcher has counted earlier tests' jobs
    base = {k: total(before, n, **ls) for k, (n, ls) in counters.items()}

    ids = [client.submit("u", "t_sleep", {"tag": f"m{i}", "seconds": 0.1}).id for i in range(3)]
    ids.append(client.submit("u", "t_flaky", {"tag": "mflaky", "fail_times": 1}).id)
    ids.append(client.submit("u", "t_invalid", {"tag": "mdead"}).id)
    states = [client.wait(i, 60).state for i in ids]
    assert states == [State.SUCCESS] * 4 + [State.FAILURE]

    # One job running, two waiting behind it: the per-queue gauges have something to show.
    ray.get(system["dispatcher"].set_cap.remote("content", 1))
    long = client.submit("u", "t_sleep", {"tag": "mlong", "seconds": 28}).id
    wait_for(lambda: client.status(long).state == State.PROGRESS, timeout=20)
    held = [client.submit("u", "t_sleep", {"tag": f"mheld{i}"}).id for i in range(2)]

    def content(state: str) -> tuple[str, frozenset[tuple[str, str]]]:
        return ("ray_reels_jobs", frozenset({("state", state), ("queue", "content")}))

    expected_gauges = {
        ("ray_reels_dead_letters", frozenset()): 1.0,
        ("ray_reels_queue_depth", frozenset({("queue", "content")})): 2.0,
        content("PENDING"): 2.0,
        content("PROGRESS"): 1.0,
        ("ray_reels_jobs", frozenset({("state", "SUCCESS"), ("queue", ALL)})): 4.0,
        ("ray_reels_jobs", frozenset({("state", "FAILURE"), ("queue", ALL)})): 1.0,
    }
    wanted = {"sleep_seconds": 3, "flaky_retries": 1, "sleep_ok": 3, "invalid_dead": 1}
    seen: list[Sample] = []

    def exported() -> bool:
        seen[:] = scrape(metrics_port)
        counted = all(total(seen, n, **ls) >= base[k] + wanted[k] for k, (n, ls) in counters.items())
        gauges = gauges_by_worker(seen).values()
        return counted and any(all(g.get(key) == v for key, v in expected_gauges.items()) for g in gauges)

    try:
        wait_for(exported, timeout=60, interval=0.5)  # the agent exports every 10 s (metrics_report_interval_ms)
    finally:
        for job_id in [long, *held]:
            client.cancel(job_id)
    assert client.wait(long, 20).state == State.REVOKED
    buckets = [s for s in seen if s[0] == "ray_reels_stage_seconds_bucket" and s[1].get("task_type") == "t_sleep"]
    assert {s[1]["le"] for s in buckets} >= {"0.1", "0.5", "1.0", "1800.0", "+Inf"}
