"""No route or dependency blocks the event loop: a stalled Redis holds up the requests that wait for it, while the
replica's other requests (and its live streams) go on."""

from __future__ import annotations

import ast
import asyncio
import time
from pathlib import Path

import httpx
import redis
from fastapi import FastAPI

from serve_app.api.app import create_app
from serve_app.config import ApiConfig
from serve_app.users import UserStore

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
# What the routes reach Redis through (the service, its stores, the job client), and the calls on them that never do.
RECEIVERS = {"service", "store", "users", "projects", "jobs", "limiter"}
PURE = {"shown", "channel"}
PAUSE_S = 3.0


def _dotted(node: ast.expr) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):
        parts += _dotted(node.func)[::-1]
    elif isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def _blocking_calls(source: str, rel: str) -> list[str]:
    """Calls in an `async def` that reach a store without being awaited (a sync Redis call on the event loop)."""
    tree = ast.parse(source, rel)
    awaited = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Await)}
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and id(node) not in awaited:
                parts = _dotted(node.func)
                if RECEIVERS & set(parts) and parts[-1] not in PURE:
                    out.append(f"{rel}:{node.lineno}: {fn.name} calls {'.'.join(parts)}() on the event loop")
    return out


def test_no_async_route_or_dependency_calls_a_store_synchronously() -> None:
    found = []
    for path in sorted((ROOT / "serve_app" / "api").rglob("*.py")):
        found += _blocking_calls(path.read_text(), path.relative_to(ROOT).as_posix())
    assert found == [], "\n".join(found)


def test_the_rule_catches_a_sync_store_call_in_an_async_def() -> None:
    bad = (
        "async def route(service):\n"
        "    service.task(user, 'x')\n"
        "    await service.users.authenticate('t')\n"  # awaited: an asyncio store
        "    return service.shown(service.store.get('x').status)\n"
        "def fine(service):\n"
        "    return service.store.get('x')\n"
    )
    found = _blocking_calls(bad, "bad.py")
    assert [f.split(": ", 1)[1] for f in found] == [
        "route calls service.task() on the event loop",
        "route calls service.store.get() on the event loop",
    ], found


async def _while_redis_is_paused(app: FastAPI, paused: redis.Redis, token: str) -> None:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as http:
        first = await http.post(f"{API}/tasks/submit/content", json={"topic": "loops"})  # connects the service
        assert first.status_code == 202, first.text
        task_id = first.json()["task_id"]
        gets = [
            f"{API}/tasks/status/{task_id}",
            f"{API}/tasks",
            f"{API}/tasks/stats/queues",
            f"{API}/tasks/stats/performance",
            f"{API}/tasks/admin/dlq",
            f"{API}/projects",
            "/health",
        ]
        paused.execute_command("CLIENT", "PAUSE", int(PAUSE_S * 1000), "ALL")  # returns once Redis holds commands
        since = time.monotonic()
        waiting = [asyncio.ensure_future(http.get(path)) for path in gets]
        waiting.append(asyncio.ensure_future(http.post(f"{API}/tasks/submit/content", json={"topic": "more"})))
        # The console page needs no Redis: while the others wait, it keeps answering, tick after tick. A route that
        # blocked the loop would leave a gap between two ticks as long as the pause.
        ticks: list[float] = []
        while not all(w.done() for w in waiting):
            ticks.append(time.monotonic())
            assert (await http.get("/console")).status_code == 200
            await asyncio.sleep(0.05)
        waited = time.monotonic() - since
        answers = [w.result() for w in waiting]
    assert [a.status_code for a in answers] == [200] * len(gets) + [202], [a.text for a in answers]
    assert waited >= PAUSE_S * 0.5, "the requests did not wait for Redis"
    gaps = [b - a for a, b in zip(ticks, [*ticks[1:], since + waited], strict=True)]
    assert max(gaps) < PAUSE_S / 2, f"the event loop stalled for {max(gaps):.2f} s while Redis was paused"


def test_a_paused_redis_stalls_only_the_requests_that_wait_for_it(redis_url: str, tmp_path: Path) -> None:
    # Each request first waits in its auth dependency (or /health's ping): this catches a blocking dependency or
    # health route; the AST rule above covers the route bodies behind them.
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    token = UserStore(r).create("root", "admin")
    app = create_app(ApiConfig(redis_url, str(tmp_path)))
    asyncio.run(_while_redis_is_paused(app, r, token))
