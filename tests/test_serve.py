"""`reels serve` for real (Ray Serve, its own Ray, Dispatcher and redis-server): the seed's curl examples and load
test as written, its JavaScript WebSocket example in Chromium, Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis

from tests.served import ServedApp
from tests.services import wait_for

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    app = ServedApp(tmp_path_factory.mktemp("served") / "data", REELS_API_SUBMIT_PER_MINUTE="5000").start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def token(served: ServedApp) -> str:
    return served.user("user_123")


def seed(command: str, served: ServedApp, token: str, errors: list[str] | None = None) -> str:
    """Run a curl command from the seed as written: only TOKEN and the port change."""
    command = command.replace("TOKEN", token).replace("localhost:8000", f"localhost:{served.port}")
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=600, check=True)
    if errors is not None:
        errors.append(out.stderr)
    return out.stdout


def get(served: ServedApp, token: str, path: str) -> Any:
    out = subprocess.run(
        ["curl", "-sf", f"{served.url}{path}", "-H", f"Authorization: Bearer {token}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(out.stdout)


def test_seed_curl_examples(served: ServedApp, token: str) -> None:
    out = seed(
        """curl -X POST http://localhost:8000/api/v1/tasks/submit/content \\
  -H "Authorization: Bearer TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{
    "project_id": 1,
    "topic": "AI Technology",
    "target_audience": "tech enthusiasts",
    "priority": 7
  }'""",
        served,
        token,
    )
    task_id = json.loads(out)["task_id"]
    done = wait_for(lambda: (s := get(served, token, f"/api/v1/tasks/status/{task_id}"))["state"] == "SUCCESS" and s)
    assert done["progress"] == 100 and done["result"]["script"]["title"] and done["execution_time"] > 0
    stats = json.loads(
        seed(
            """curl http://localhost:8000/api/v1/tasks/stats/queues \\
  -H "Authorization: Bearer TOKEN\"""",
            served,
            token,
        )
    )
    content = stats["queues"]["content"]
    assert content["completed"] >= 1 and content["health"] == "healthy"
    assert {"pending", "active", "failed"} <= set(content)
    perf = json.loads(
        seed(
            """curl http://localhost:8000/api/v1/tasks/stats/performance \\
    -H "Authorization: Bearer TOKEN\"""",
            served,
            token,
        )
    )
    assert perf["task_types"]["generate_content"]["succeeded"] >= 1 and perf["success_rate"] == 1.0
    admin = served.user("ops", admin=True)
    for path, expect in [
        ("/api/v1/tasks/admin/cleanup", "removed"),
        ("/api/v1/tasks/admin/requeue?max_age_hours=24", "requeued 0"),
        ("/api/v1/tasks/admin/scale?queue_name=video&desired_workers=5", "requested"),
    ]:
        out = seed(f'curl -sf -X POST "http://localhost:8000{path}" -H "Authorization: Bearer TOKEN"', served, admin)
        assert expect in out, (path, out)
    assert get(served, admin, "/api/v1/tasks/stats/queues")["queues"]["video"]["slots"] == 5
    seed('curl -sf -X POST "http://localhost:8000/api/v1/tasks/admin/scale?queue_name=video&desired_workers=2" '
         '-H "Authorization: Bearer TOKEN"', served, admin)  # fmt: skip


@pytest.mark.parametrize("n", [100, 1000])
def test_seed_load_test_loses_and_duplicates_nothing(served: ServedApp, n: int) -> None:
    user = f"load{n}"
    token = served.user(user)
    loop = f"""for i in {{1..{n}}}; do
    curl -X POST http://localhost:8000/api/v1/tasks/submit/content \\
        -H "Authorization: Bearer TOKEN" \\
        -d "{{\\"project_id\\": $i, \\"topic\\": \\"Test $i\\"}}" &
done
wait"""
    stderr: list[str] = []
    out = seed(loop, served, token, stderr)
    ids = re.findall(r'"task_id":"([0-9a-f]{32})"', out)
    others = re.sub(r'\{"task_id":"[0-9a-f]{32}"[^}]*\}', "", out)
    curl_errors = sorted({line for line in stderr[0].splitlines() if line.startswith("curl:")})
    # Every submission accepted, each its own task.
    assert len(ids) == n and len(set(ids)) == n, (len(ids), others[:2000], curl_errors[:10])
    r = redis.Redis.from_url(served.redis_url, decode_responses=True)

    def all_done() -> bool:
        states = [r.hget(f"reels:job:{i}", "state") for i in ids]
        return all(s == "SUCCESS" for s in states)

    wait_for(all_done, timeout=60 + n * 0.3, interval=0.5)
    assert r.zcard(f"reels:owner:{user}") == n
    topics = {json.loads(r.hget(f"reels:job:{i}", "params") or "{}")["topic"] for i in ids}
    assert topics == {f"Test {i}" for i in range(1, n + 1)}
    assert all(r.hget(f"reels:job:{i}", "attempts") == "1" for i in ids)  # each ran exactly once


def pause_content(served: ServedApp, admin: str, slots: int) -> None:
    """Set the content queue's slots through the admin API and wait until the Dispatcher reports it applied them."""
    path = f"/api/v1/tasks/admin/scale?queue_name=content&desired_workers={slots}"
    auth = f"Authorization: Bearer {admin}"
    subprocess.run(["curl", "-sf", "-X", "POST", f"{served.url}{path}", "-H", auth], check=True, capture_output=True)
    r = redis.Redis.from_url(served.redis_url, decode_responses=True)
    wait_for(lambda: json.loads(r.hget("reels:dispatcher", "caps") or "{}").get("content") == slots, timeout=10)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/install.sh adds it)")
def test_seed_javascript_websocket_example_receives_progress(served: ServedApp, token: str) -> None:
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=flags)
        try:
            page = browser.new_page()
            page.goto(f"{served.url}/health")
            page.evaluate(
                """([port, token]) => {
                window.seen = []; window.currentTaskId = null; window.opened = false;
                const updateProgressBar = (p) => window.seen.push(['progress', p]);
                const updateStatus = (s) => window.seen.push(['status', s]);
                // The seed's example, with the token added as a query parameter:
                const ws = new WebSocket(`ws://localhost:${port}/ws/user_123?token=${token}`);
                ws.addEventListener('message', (e) => {  // the server's first frame: its subscription is live
                    if (JSON.parse(e.data).type === 'subscribed') window.opened = true;
                });
                ws.onmessage = (event) => {
                    const data = JSON.parse(event.data);
                    if (data.task_id === currentTaskId) {
                        updateProgressBar(data.progress);
                        updateStatus(data.status);
                    }
                };
            }""",
                [served.port, token],
            )
            page.wait_for_function("window.opened", timeout=10_000)
            # The example learns currentTaskId from the submit response; a content job can finish before that
            # response is read, so the content queue is paused (0 slots, applied by the Dispatcher) meanwhile.
            admin = served.user("js_admin", admin=True)
            pause_content(served, admin, 0)
            task = page.evaluate(
                """async (token) => {
                const r = await fetch('/api/v1/tasks/submit/content', {method: 'POST',
                    headers: {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'},
                    body: JSON.stringify({topic: 'Why cats purr', priority: 8})});
                const body = await r.json(); window.currentTaskId = body.task_id; return body;
            }""",
                token,
            )
            pause_content(served, admin, 4)
            assert task["state"] == "PENDING"
            # The stage's own 100 % arrives before the Dispatcher's SUCCESS event ("done"): wait for the latter.
            page.wait_for_function("window.seen.some(([k, v]) => k === 'status' && v === 'done')", timeout=60_000)
            seen = page.evaluate("window.seen")
        finally:
            browser.close()
    statuses = [v for k, v in seen if k == "status"]
    progress = [v for k, v in seen if k == "progress"]
    assert statuses[-1] == "done" and any(s.endswith(" words") for s in statuses) and progress[-1] == 100, seen


def test_server_sent_events_stream_progress_and_release_the_subscription(served: ServedApp, token: str) -> None:
    async def watch() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        url = f"{served.url}/api/v1/events?token={token}"
        async with aiohttp.ClientSession() as http, http.get(url) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert (await stream.content.readline()).startswith(b": subscribed")
            headers = {"Authorization": f"Bearer {token}"}
            body = {"topic": "Tides", "task": "generate_hashtags"}
            async with http.post(f"{served.url}/api/v1/tasks/submit/content", json=body, headers=headers) as r:
                task_id = (await r.json())["task_id"]
            async for line in stream.content:
                if line.startswith(b"data: "):
                    event = json.loads(line[6:])
                    if event["task_id"] == task_id:
                        events.append(event)
                        if event["state"] == "SUCCESS":
                            break
        return events

    events = asyncio.run(asyncio.wait_for(watch(), 60))
    assert events[-1]["state"] == "SUCCESS" and events[-1]["progress"] == 100
    r = redis.Redis.from_url(served.redis_url)
    wait_for(lambda: r.pubsub_numsub("reels:progress:user_123")[0][1] == 0, timeout=10)
