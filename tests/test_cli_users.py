"""`reels users create|revoke|list`: the token printed once, alone on the last line; bad names refused."""

from __future__ import annotations

import pytest
import redis

from cluster.cli import main
from serve_app.users import UserStore


def test_users_create_prints_the_token_last_and_revoke_ends_it(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REELS_REDIS_URL", redis_url)
    assert main(["users", "create", "user_123", "--admin"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    store = UserStore(redis.Redis.from_url(redis_url, decode_responses=True))
    user = store.authenticate(token)
    assert user is not None and user.id == "user_123" and user.is_admin
    assert main(["users", "list"]) == 0 and "user_123" in capsys.readouterr().out
    assert main(["users", "revoke", "user_123"]) == 0 and "revoked 1 key" in capsys.readouterr().out
    assert store.authenticate(token) is None


@pytest.mark.parametrize("name", ["bad name!", "", "x" * 65, "../etc"])
def test_users_create_refuses_bad_names(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    monkeypatch.setenv("REELS_REDIS_URL", redis_url)
    assert main(["users", "create", name]) == 2
    assert "user:" in capsys.readouterr().err


def test_serve_refuses_a_bad_port_before_starting_anything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port: 70000 is not a TCP port" in capsys.readouterr().err
    assert main(["serve", "--port", "eighty"]) == 2
