"""Real servers for tests: redis-server with AOF on a free loopback port, stopped by PID."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from cluster.redis_local import LocalRedis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):  # type: ignore[no-untyped-def]
    """Poll until predicate() is truthy; returns its value or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


class RedisServer(LocalRedis):
    """The project's own local redis-server with every write fsynced: the fault tests SIGKILL it."""

    def __init__(self, data_dir: Path, port: int) -> None:
        super().__init__(data_dir, port, fsync_always=True)

    def start(self, timeout_s: float = 10.0) -> RedisServer:  # type: ignore[override]
        super().start(timeout_s)
        return self
