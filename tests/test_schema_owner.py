"""The job system's Redis schema has one owner: only the store modules touch Redis keys or call Redis commands.
Everything else goes through their named methods, so no caller can bypass the Lua scripts' atomic state changes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("actors", "serve_app", "cluster", "pipeline", "bench")
STORES = {
    "actors/job_store.py",  # jobs, queues, caps, heartbeat, batches, DLQ, the finished index
    "actors/job_scripts.py",  # its Lua
    "actors/report_store.py",  # alerts, usage, reports
    "serve_app/users.py",
    "serve_app/projects.py",
    "serve_app/ratelimit.py",
    "serve_app/links.py",
}
# Where a connection is made or handed on, and why.
CONNECTIONS = {
    "serve_app/api/services.py": "hands the job store's connection to the API's own stores",
    "serve_app/api/routes/live.py": "an asyncio connection per live stream: its token checks and its subscription",
    "cluster/cli_serve.py": "`reels users` on the system's Redis",
    "cluster/redis_local.py": "checks the password of the local redis-server it starts",
    "bench/api.py": "publishes straight to a user's progress channel to time the WebSocket",
}


def _violations(path: Path, rel: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), rel)):
        where = f"{rel}:{getattr(node, 'lineno', 0)}"
        own = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
        if isinstance(node, ast.Attribute) and node.attr == "r" and rel not in CONNECTIONS and not own:
            out.append(f"{where}: reaches into a store's Redis connection ({ast.unparse(node)})")
        if isinstance(node, ast.JoinedStr):
            for part in node.values:
                value = part.value if isinstance(part, ast.FormattedValue) else None
                if isinstance(value, ast.Attribute) and value.attr == "p":
                    out.append(f"{where}: builds a Redis key ({ast.unparse(node)})")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.match(r"reels:\w", node.value):
            out.append(f"{where}: names a Redis key ({node.value!r})")
        if isinstance(node, ast.Call) and rel not in CONNECTIONS:
            name = ast.unparse(node.func)
            if name in ("Redis", "redis.Redis", "aioredis.Redis") or name.endswith(("Redis.from_url", "Pool.from_url")):
                out.append(f"{where}: opens its own Redis connection ({name})")
    return out


def test_only_the_store_modules_touch_redis_keys() -> None:
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in STORES:
                found += _violations(path, rel)
    assert found == [], "\n".join(found)


def test_the_rule_catches_what_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f(store):\n"
        "    store.r.hincrby(f'{store.p}stats:video', 'x', 1)\n"
        "    return redis.Redis.from_url('redis://x'), 'reels:dlq'\n"
    )
    kinds = [v.split(": ", 1)[1].split(" (")[0] for v in _violations(bad, "actors/bad.py")]
    assert sorted(kinds) == sorted(
        [
            "reaches into a store's Redis connection",
            "builds a Redis key",
            "opens its own Redis connection",
            "names a Redis key",
        ]
    ), kinds
