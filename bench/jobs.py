"""Job-system benchmark: throughput of light jobs, priority latency under a backlog, 10,000 queued jobs held,
and the segment-parallel render speed-up. Starts its own redis-server and local Ray; prints one table.

    .venv/bin/python bench/jobs.py [--jobs 2000] [--held 10000] [--backlog 1000]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ray

from actors.client import JobClient
from actors.jobs import TERMINAL, State
from actors.queues import DEFAULT_SLOTS
from actors.registry import RuntimeConfig
from actors.segments import runner_for
from cluster.redis_local import LocalRedis
from cluster.runtime import start_dispatcher, start_ray
from pipeline.planner import build_plan
from pipeline.platforms import get_preset
from pipeline.render import render
from pipeline.speech.base import write_wav
from pipeline.speech.espeak import EspeakEngine

LIGHT = ("generate_hashtags", {"topic": "How volcanoes erupt"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def drain(client: JobClient, ids: list[str], timeout: float) -> float:
    """Seconds until every job is terminal; raises if any is lost or fails."""
    t0 = time.perf_counter()
    left = set(ids)
    while left:
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"{len(left)} jobs unfinished after {timeout} s")
        batch = list(left)[:2000]
        for i, (st,) in zip(batch, client.store.fields(batch, "state"), strict=True):
            if st is None:
                raise RuntimeError(f"job {i} lost")
            if State(st) in TERMINAL:
                if st != State.SUCCESS:
                    raise RuntimeError(f"job {i} ended {st}: {client.status(i).error}")
                left.discard(i)
        time.sleep(0.05)
    return time.perf_counter() - t0


def throughput(client: JobClient, n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    ids = [client.submit("bench", *LIGHT).id for _ in range(n)]
    submit_s = time.perf_counter() - t0
    drain(client, ids, 600)
    return n / (time.perf_counter() - t0), n / submit_s


def priority_latency(client: JobClient, dispatcher: object, backlog: int) -> dict[str, float]:
    low = [client.submit("bench", *LIGHT, priority=0).id for _ in range(backlog)]
    time.sleep(0.2)  # the backlog is flowing
    t0 = time.time()
    high = client.submit("bench", *LIGHT, priority=10)
    while client.status(high.id).started == 0:
        time.sleep(0.001)
    started_at = client.status(high.id).started
    waited = started_at - t0
    drain(client, [*low, high.id], 600)
    # How many low-priority jobs started after the high one was submitted but before it: ideally none.
    overtook = sum(1 for i in low if t0 < client.status(i).started < started_at)
    durations = [client.status(i).execution_time for i in low[-200:]]
    return {"wait_s": waited, "overtook": overtook, "job_s": statistics.median(durations)}


def held(client: JobClient, dispatcher: object, n: int) -> dict[str, float]:
    ray.get(dispatcher.set_cap.remote("content", 0))  # type: ignore[attr-defined]
    before = ray.get(dispatcher.ping.remote())["rss_mb"]  # type: ignore[attr-defined]
    ids = [client.submit("bench", *LIGHT).id for _ in range(n)]
    time.sleep(1.0)
    pending = client.store.pending_count("content")
    rss = ray.get(dispatcher.ping.remote())["rss_mb"]  # type: ignore[attr-defined]
    ray.get(dispatcher.set_cap.remote("content", DEFAULT_SLOTS["content"]))  # type: ignore[attr-defined]
    took = drain(client, ids, 1200)
    return {"pending": pending, "rss_before": before, "rss_held": rss, "drain_s": took, "n": n}


def segment_speedup(seconds: float) -> dict[int, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-seg-"))
    words_text = ["This sentence keeps the narrator busy for a while."] * max(1, int(seconds / 2.5))
    n = EspeakEngine().synthesize(words_text, None, 1.0)
    write_wav(tmp / "n.wav", n.audio, n.sample_rate)
    plan = build_plan(get_preset("tiktok").at_size(540, 960), tmp / "n.wav", n.words, n.duration)
    out = {}
    for segs in (1, 2, 4):
        t0 = time.perf_counter()
        render(plan, tmp / f"s{segs}.mp4", runner_for(segs))
        out[segs] = plan.frame_count / (time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--held", type=int, default=10_000)
    ap.add_argument("--backlog", type=int, default=1000)
    ap.add_argument("--render-seconds", type=float, default=10.0)
    args = ap.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    data = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    redis = LocalRedis(data, free_port())
    url = redis.start()
    try:
        start_ray()
        runtime = start_dispatcher(RuntimeConfig(url, str(data), progress_interval_s=0.25))
        client = JobClient(url)
        throughput(client, 50)  # warm the worker pool
        rate, submit_rate = throughput(client, args.jobs)
        pri = priority_latency(client, runtime.dispatcher, args.backlog)
        hold = held(client, runtime.dispatcher, args.held)
        seg = segment_speedup(args.render_seconds)
    finally:
        ray.shutdown()
        redis.stop()
    slots = DEFAULT_SLOTS["content"]
    print(f"\nJob system on this machine ({os.cpu_count()} cores), content queue {slots} slots\n")
    print("| measure | ours | target / peer | result |")
    print("|---|---|---|---|")
    print(
        f"| light content jobs completed/s ({args.jobs} jobs) | {rate:.0f}/s | ≥ 100/s (seed: 100/min) | "
        f"{'PASS' if rate >= 100 else 'MISS'} |"
    )
    print(f"| submissions accepted/s (client) | {submit_rate:.0f}/s | — | |")
    next_slot = pri["job_s"] / slots
    print(
        f"| p10 start after {args.backlog} p0 queued | {pri['wait_s'] * 1000:.0f} ms, {pri['overtook']} p0 overtook "
        f"| next free slot ≈ {next_slot * 1000:.0f} ms (median job {pri['job_s'] * 1000:.0f} ms / {slots} slots) | "
        f"{'PASS' if pri['overtook'] == 0 else 'MISS'} |"
    )
    print(
        f"| {hold['n']} queued jobs held | {hold['pending']} pending, all {hold['n']} completed after "
        f"({hold['drain_s']:.0f} s) | none lost | {'PASS' if hold['pending'] == hold['n'] else 'MISS'} |"
    )
    print(
        f"| Dispatcher memory | {hold['rss_before']:.0f} MB idle → {hold['rss_held']:.0f} MB with "
        f"{hold['n']} queued | flat (jobs live in Redis) | |"
    )
    for segs, fps in seg.items():
        print(
            f"| segment-parallel render 540x960, {segs} segment(s) | {fps:.1f} frames/s | "
            f"{fps / seg[1]:.2f}x of 1 segment | |"
        )


if __name__ == "__main__":
    main()
