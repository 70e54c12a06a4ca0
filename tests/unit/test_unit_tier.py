"""This tier stays free of Ray, Redis and waiting, and the decisions module stays free of them too."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import pytest
import ray
import redis

DECISIONS = Path(__file__).resolve().parents[2] / "actors" / "decisions.py"


def test_starting_ray_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="started Ray"):
        ray.init(address="local")


def test_a_redis_command_fails_before_any_connection() -> None:
    with pytest.raises(RuntimeError, match="sent a Redis command"):
        redis.Redis(port=1).ping()


def test_sleeping_fails() -> None:
    with pytest.raises(RuntimeError, match="slept"):
        time.sleep(0.01)


def test_the_decisions_import_no_framework_and_read_no_clock() -> None:
    tree = ast.parse(DECISIONS.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"ray", "redis", "time", "asyncio"}, imported
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not {c for c in calls if c.startswith(("time.", "datetime."))}, calls


def test_other_threads_keep_the_real_sleep() -> None:
    """A session's background threads (when the whole suite runs in one process) are not broken by this tier."""
    errors: list[BaseException] = []

    def nap() -> None:
        try:
            time.sleep(0)
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=nap)
    t.start()
    t.join(5)
    assert errors == []
