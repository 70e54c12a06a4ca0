"""API benchmark through Ray Serve, with the same FastAPI app on bare uvicorn as the peer, measured in one run.

Starts `reels serve` as a subprocess (its own local Ray, redis-server and Dispatcher, as tests/served.py does) with
the per-user submit limit lifted and no content-queue slots, so the submitted jobs stay PENDING and do not take the
CPU while the API is measured. Then, against Serve and against `create_app(...)` on plain uvicorn in a child
process (same Redis, same user; `--skip-bare` leaves it out), it measures:

1. submissions/s: concurrent `POST /api/v1/tasks/submit/content` (`{"topic": "Bench N", "priority": 5}`, 202 JSON);
2. status reads/s: concurrent `GET /api/v1/tasks/status/{task_id}` over the ids just submitted (200 JSON);
3. WebSocket latency publish → client: events PUBLISHed straight to Redis on `reels:progress:{user}`, timed until
   a client connected to `/ws/{user}?token=…` receives each one (p50/p95/p99 ms).

Every answer other than the expected status is counted as an error and its status (or exception) printed. The
load generator (aiohttp) runs on the same machine as the servers, so the numbers are for this machine as a whole.
Prints one markdown table.

    .venv/bin/python bench/api.py [--requests 2000] [--concurrency 64] [--events 500] [--skip-bare]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import redis.asyncio as aioredis

from actors.job_store import JobStore
from tests.served import ServedApp
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
USER = "bench"
WARMUP = 32  # untimed requests per phase: connections opened, code paths warm

BARE_SERVER = """
import sys
import uvicorn
from serve_app.api.app import create_app
from serve_app.config import ApiConfig

redis_url, data_dir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app(ApiConfig(redis_url, data_dir, submit_per_minute=10**9, max_queued_per_user=10**9))
uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")).run()
"""


@dataclass
class Load:
    """One concurrent phase: requests done, wall seconds, statuses other than the expected one."""

    done: int = 0
    seconds: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    ids: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass
class Latency:
    """Publish → WebSocket receive, milliseconds per event; `lost` were never received."""

    ms: list[float] = field(default_factory=list)
    lost: int = 0
    error: str = ""

    def pct(self, p: float) -> float:
        if not self.ms:
            return float("nan")
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


@dataclass
class Result:
    submit: Load
    status: Load
    ws: Latency


Request = Callable[[aiohttp.ClientSession, int], Awaitable[tuple[int, dict[str, object] | None]]]


async def run_load(session: aiohttp.ClientSession, n: int, concurrency: int, expect: int, request: Request) -> Load:
    """`n` calls of `request(session, i)` from `concurrency` workers; wall time from first start to last answer."""
    load = Load()
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            try:
                code, body = await request(session, i)
            except (aiohttp.ClientError, TimeoutError) as e:
                load.errors[type(e).__name__] += 1
                continue
            if code != expect:
                load.errors[str(code)] += 1
                continue
            load.done += 1
            if body is not None and "task_id" in body:
                load.ids.append(str(body["task_id"]))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    load.seconds = time.perf_counter() - t0
    return load


def submitter(base: str, headers: dict[str, str]) -> Request:
    async def submit(session: aiohttp.ClientSession, i: int) -> tuple[int, dict[str, object] | None]:
        body = {"topic": f"Bench {i}", "priority": 5}
        async with session.post(f"{base}{API}/tasks/submit/content", json=body, headers=headers) as r:
            return r.status, (await r.json() if r.status == 202 else None)

    return submit


def reader(base: str, headers: dict[str, str], ids: list[str]) -> Request:
    async def read(session: aiohttp.ClientSession, i: int) -> tuple[int, dict[str, object] | None]:
        async with session.get(f"{base}{API}/tasks/status/{ids[i % len(ids)]}", headers=headers) as r:
            await r.read()
            return r.status, None

    return read


async def ws_latency(
    session: aiohttp.ClientSession, base: str, redis_url: str, token: str, events: int, gap_s: float
) -> Latency:
    """Publish `events` events `gap_s` apart straight to Redis; each carries its perf_counter_ns send time."""
    out = Latency()
    ws_url = base.replace("http://", "ws://", 1) + f"/ws/{USER}?token={token}"
    pub = aioredis.Redis.from_url(redis_url)
    received: dict[int, float] = {}
    try:
        async with session.ws_connect(ws_url, heartbeat=None) as ws:
            first = await ws.receive_json(timeout=10)
            if first.get("type") != "subscribed":
                out.error = f"first message {first!r}"
                return out

            async def listen() -> None:
                async for msg in ws:
                    now = time.perf_counter_ns()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(msg.data)
                    if data.get("task_id") == "lat":
                        received[int(data["seq"])] = (now - int(data["t"])) / 1e6
                        if len(received) >= events:
                            break

            listener = asyncio.ensure_future(listen())
            channel = JobStore(redis_url).channel(USER)
            if await pub.publish(channel, json.dumps({"task_id": "warm", "seq": -1})) < 1:
                out.error = f"nobody subscribed to {channel}"
                listener.cancel()
                return out
            for seq in range(events):
                event = {"task_id": "lat", "seq": seq, "t": time.perf_counter_ns()}
                await pub.publish(channel, json.dumps(event))
                await asyncio.sleep(gap_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener, timeout=10)
    except (aiohttp.ClientError, TimeoutError) as e:
        out.error = f"{type(e).__name__}: {e}"
    finally:
        await pub.aclose()
    out.ms = [received[s] for s in sorted(received)]
    out.lost = events - len(received)
    return out


async def measure(base: str, redis_url: str, token: str, args: argparse.Namespace) -> Result:
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        submit = submitter(base, headers)
        await run_load(session, WARMUP, min(WARMUP, args.concurrency), 202, submit)
        submitted = await run_load(session, args.requests, args.concurrency, 202, submit)
        ids = submitted.ids or ["missing"]
        read = reader(base, headers, ids)
        await run_load(session, WARMUP, min(WARMUP, args.concurrency), 200, read)
        status = await run_load(session, args.requests, args.concurrency, 200, read)
        ws = await ws_latency(session, base, redis_url, token, args.events, args.gap_ms / 1000)
    return Result(submitted, status, ws)


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"bare uvicorn exited with {proc.returncode}")
        time.sleep(0.2)
    raise RuntimeError(f"bare uvicorn not up at {url} after {timeout_s} s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def fmt(value: float, digits: int) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"  # NaN: nothing measured


def versus(serve: float, bare: float | None, digits: int) -> str:
    """The bare-uvicorn value and Serve's ratio to it."""
    if bare is None:
        return "–"
    if bare != bare or serve != serve or bare == 0:
        return fmt(bare, digits)
    return f"{fmt(bare, digits)} ({serve / bare:.2f}×)"


def errors_text(load: Load) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(load.errors.items())) or "none"


def table(serve: Result, bare: Result | None, args: argparse.Namespace) -> str:
    submit, status = f"{API}/tasks/submit/content", f"{API}/tasks/status/{{id}}"
    rows: list[tuple[str, str, str, str]] = [
        (
            f"POST {submit}",
            "submissions/s",
            fmt(serve.submit.rate, 0),
            versus(serve.submit.rate, bare.submit.rate if bare else None, 0),
        ),
        (
            f"GET {status}",
            "status reads/s",
            fmt(serve.status.rate, 0),
            versus(serve.status.rate, bare.status.rate if bare else None, 0),
        ),
    ]
    for p in (50, 95, 99):
        s, b = serve.ws.pct(p), (bare.ws.pct(p) if bare else None)
        rows.append((f"WS /ws/{USER} ← PUBLISH", f"publish → client p{p} ms", fmt(s, 2), versus(s, b, 2)))
    rows.append(
        (
            f"WS /ws/{USER} ← PUBLISH",
            f"events lost (of {args.events})",
            str(serve.ws.lost),
            str(bare.ws.lost) if bare else "–",
        )
    )
    for path, what, expect in ((submit, "submit", 202), (status, "status", 200)):
        s_load: Load = getattr(serve, what)
        b_load: Load | None = getattr(bare, what) if bare else None
        rows.append(
            (
                path,
                f"errors: not {expect} (of {args.requests})",
                str(s_load.error_count),
                str(b_load.error_count) if b_load else "–",
            )
        )
    lines = [
        f"Ray Serve (`reels serve`){'' if bare else ' alone (--skip-bare)'}; {args.requests} requests per phase, "
        f"concurrency {args.concurrency}, {args.events} WS events {args.gap_ms} ms apart, {os.cpu_count()} CPUs.",
        "",
        "| path | measure | value | vs bare uvicorn |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {m} | {v} | {r} |" for a, m, v, r in rows]
    return "\n".join(lines)


def details(name: str, result: Result) -> list[str]:
    out = [f"{name}: submit errors {errors_text(result.submit)}; status errors {errors_text(result.status)}"]
    if result.ws.error:
        out.append(f"{name}: WebSocket {result.ws.error}")
    if result.ws.ms:
        out.append(f"{name}: WebSocket mean {statistics.fmean(result.ws.ms):.2f} ms, max {max(result.ws.ms):.2f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per phase (submit, status)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight at once")
    parser.add_argument("--events", type=int, default=500, help="WebSocket events published")
    parser.add_argument("--gap-ms", type=float, default=5.0, help="milliseconds between WebSocket events")
    parser.add_argument("--skip-bare", action="store_true", help="no bare-uvicorn peer")
    args = parser.parse_args()

    t0 = time.perf_counter()
    served: ServedApp | None = None
    bare_proc: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        try:
            served = ServedApp(
                Path(tmp) / "data",
                REELS_API_SUBMIT_PER_MINUTE="1000000000",
                REELS_API_MAX_QUEUED_PER_USER="1000000000",
                REELS_QUEUE_SLOTS="content=0",
            ).start()
            token = served.user(USER)
            print(f"reels serve up at {served.url} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            serve_result = asyncio.run(measure(served.url, served.redis_url, token, args))
            bare_result: Result | None = None
            if not args.skip_bare:
                port = free_port()
                env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
                cmd = [sys.executable, "-c", BARE_SERVER, served.redis_url, str(served.data_dir), str(port)]
                bare_proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
                bare_url = f"http://127.0.0.1:{port}"
                wait_ready(bare_url, bare_proc)
                bare_result = asyncio.run(measure(bare_url, served.redis_url, token, args))
        finally:
            stop(bare_proc)
            if served is not None:
                served.stop()
    print(table(serve_result, bare_result, args))
    print()
    for line in details("serve", serve_result) + (details("bare", bare_result) if bare_result else []):
        print(line)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
