"""The unit tier: plain functions, checked without Ray, Redis or waiting. A test here that starts Ray, talks to
Redis or sleeps fails at once, naming what it did (such a test belongs in tests/, beside the shared cluster)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import ray
import redis

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.unit)


def _refuse(what: str, real: Any = None) -> Any:
    """A stand-in that fails in the test's own thread; other threads (a session's Ray or Redis helpers, when the whole
    suite runs in one process) keep the real one."""
    test_thread = threading.get_ident()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        if real is not None and threading.get_ident() != test_thread:
            return real(*args, **kwargs)
        raise RuntimeError(f"a unit test {what}; move it out of tests/unit or pass the value it needs")

    return refuse


@pytest.fixture(autouse=True)
def no_ray_no_redis_no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray, "init", _refuse("started Ray"))
    monkeypatch.setattr(redis.Redis, "execute_command", _refuse("sent a Redis command", redis.Redis.execute_command))
    monkeypatch.setattr(time, "sleep", _refuse("slept", time.sleep))


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
