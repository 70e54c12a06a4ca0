"""The local redis-server `reels serve`/`reels worker` start is private to its data folder: it needs a password kept
there with owner-only permissions, and a system started from another data folder never joins it."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cluster.redis_local import LocalRedis, shown
from serve_app.users import UserStore
from tests.served import REELS, ROOT
from tests.services import free_port


@pytest.fixture
def first(tmp_path: Path) -> Iterator[LocalRedis]:
    server = LocalRedis(tmp_path / "first", free_port())
    server.start()
    yield server
    server.stop()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_local_redis_needs_the_password_kept_owner_only_in_its_data_folder(first: LocalRedis) -> None:
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=first.port).set("k", "v")  # any other local process
    assert redis.Redis.from_url(first.url).ping()
    assert _mode(first.dir) == 0o700
    assert {_mode(first.dir / f) for f in ("password", "redis.conf", "port")} == {0o600}
    assert first.proc is not None
    cmdline = Path(f"/proc/{first.proc.pid}/cmdline").read_bytes().decode()
    assert first.password() not in cmdline  # `ps` would show it to every local user
    assert first.password() not in shown(first.url) and "***" in shown(first.url)


def test_a_system_of_another_data_folder_gets_its_own_redis(first: LocalRedis, tmp_path: Path) -> None:
    second = LocalRedis(tmp_path / "second", first.preferred_port)  # the same configured port
    try:
        second.start()
        assert second.port != first.port and second.password() != first.password()
        redis.Redis.from_url(second.url).set("who", "second")
        assert redis.Redis.from_url(first.url).get("who") is None
    finally:
        second.stop()
    # `reels users` run from another checkout's data folder writes into that folder's system, not the running one.
    env = {
        **os.environ,
        "REELS_DATA_DIR": str(tmp_path / "mallory"),
        "REELS_LOCAL_REDIS_PORT": str(first.preferred_port),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REELS_REDIS_URL", None)
    subprocess.run(
        [REELS, "users", "create", "mallory", "--admin"], env=env, check=True, capture_output=True, timeout=60
    )
    users = UserStore(redis.Redis.from_url(first.url, decode_responses=True))
    assert "mallory" not in {u["user"] for u in users.list()}


def test_a_restart_finds_the_same_server_port_and_password(first: LocalRedis) -> None:
    redis.Redis.from_url(first.url).set("kept", "1")
    url = first.url
    first.stop()
    again = LocalRedis(first.dir.parent, first.preferred_port)
    again.start()
    try:
        assert again.url == url and redis.Redis.from_url(url).get("kept") == b"1"  # the AOF kept it
        joined = LocalRedis(first.dir.parent, first.preferred_port)
        assert joined.start() == url and joined.proc is None  # a second process of the same folder joins it
    finally:
        again.stop()
