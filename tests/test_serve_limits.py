"""`reels serve` under slow and long-lived connections, as a real subprocess on loopback (bounded in count and
time): slow bodies get 408 and lose their connection, live streams are capped per user and in total while older
ones keep working, a socket without a token is closed within its deadline, a revoked user's streams close, and
/health answers all along."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator

import aiohttp
import pytest

from tests.served import REELS, ServedApp

PER_USER, TOTAL, BODY_TIMEOUT_S, AUTH_TIMEOUT_S = 3, 6, 2.0, 1.0
SLOTS = 256  # a replica's max_ongoing_requests


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    app = ServedApp(
        tmp_path_factory.mktemp("limits") / "data",
        REELS_API_MAX_REPLICAS="1",  # the caps are per replica: one, so the totals are exact
        REELS_API_MAX_STREAMS=str(TOTAL),
        REELS_API_MAX_STREAMS_PER_USER=str(PER_USER),
        REELS_API_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S),
        REELS_API_WS_AUTH_TIMEOUT_S=str(AUTH_TIMEOUT_S),
        REELS_API_MAX_BODY_BYTES="4096",
    ).start()
    yield app
    app.stop()


def _health_s(served: ServedApp) -> float:
    import urllib.request

    t0 = time.monotonic()
    with urllib.request.urlopen(f"{served.url}/health", timeout=5) as r:
        assert r.status == 200
    return time.monotonic() - t0


def _raw(served: ServedApp, head: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", served.port), timeout=BODY_TIMEOUT_S + 10)
    s.sendall(head)
    return s


def _answer(s: socket.socket) -> tuple[int, bytes]:
    """The status code, and what follows the response: b"" when the server closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(v) for k, v in (ln.split(b":", 1) for ln in head.split(b"\r\n")[1:]) if k.lower() == b"content-length"), 0
    )
    while len(body) < length:
        body += s.recv(65536)
    tail = s.recv(65536)
    return int(head.split()[1]), tail


def test_slow_bodies_get_408_and_lose_their_connection_while_health_answers(served: ServedApp) -> None:
    token = served.user("slowpoke")
    head = (
        f"POST /api/v1/tasks/submit/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"topic"'
    ).encode()
    sockets = [_raw(served, head) for _ in range(SLOTS + 44)]  # more than the replica could hold
    t0 = time.monotonic()
    assert _health_s(served) < 1.0  # answers while they wait
    answers = [_answer(s) for s in sockets]
    took = time.monotonic() - t0
    for s in sockets:
        s.close()
    assert {code for code, _ in answers} == {408}
    assert all(tail == b"" for _, tail in answers)  # the server closed every one of them
    assert took < BODY_TIMEOUT_S + 5


def test_a_burst_of_ordinary_requests_is_never_refused_as_slow(served: ServedApp) -> None:
    token = served.user("bursty")

    async def run() -> list[int]:
        async with aiohttp.ClientSession() as session:

            async def submit(i: int) -> int:
                async with session.post(
                    f"{served.url}/api/v1/tasks/submit/content",
                    json={"topic": f"Burst {i}", "task": "generate_hashtags"},
                    headers={"Authorization": f"Bearer {token}"},
                ) as r:
                    return r.status

            return await asyncio.gather(*(submit(i) for i in range(40)))

    assert asyncio.run(run()) == [202] * 40


def test_a_chunked_body_over_the_limit_gets_413(served: ServedApp) -> None:
    token = served.user("chunky")
    chunk = b"x" * 3000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
    s = _raw(
        served,
        f"POST /api/v1/tasks/submit/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + body,
    )
    code, _ = _answer(s)
    s.close()
    assert code == 413


async def _socket(session: aiohttp.ClientSession, served: ServedApp, user: str, token: str) -> tuple[object, dict]:
    ws = await session.ws_connect(f"{served.url.replace('http', 'ws')}/ws/{user}?token={token}")
    first = await ws.receive(timeout=10)
    return ws, first.json() if first.type == aiohttp.WSMsgType.TEXT else {"type": str(first.type)}


def test_streams_are_capped_per_user_and_in_total_and_old_ones_keep_working(served: ServedApp) -> None:
    tokens = {u: served.user(u) for u in ("alice", "bob", "carol")}

    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            alice = [await _socket(session, served, "alice", tokens["alice"]) for _ in range(PER_USER)]
            assert all(first["type"] == "subscribed" for _, first in alice)
            extra, first = await _socket(session, served, "alice", tokens["alice"])
            closing = await extra.receive(timeout=5)  # type: ignore[attr-defined]
            assert first["type"] == "error" and "most one user may have" in first["detail"]
            assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 1008
            sse = await session.get(f"{served.url}/api/v1/events?token={tokens['alice']}")
            assert sse.status == 429 and "live streams" in (await sse.json())["detail"]
            bob = [await _socket(session, served, "bob", tokens["bob"]) for _ in range(TOTAL - PER_USER)]
            assert all(first["type"] == "subscribed" for _, first in bob)
            _over, first = await _socket(session, served, "carol", tokens["carol"])
            assert first["type"] == "error" and "on this server" in first["detail"]
            assert await asyncio.to_thread(_health_s, served) < 1.0
            # The older streams still deliver: a job of alice's reaches her first socket.
            async with session.post(
                f"{served.url}/api/v1/tasks/submit/content",
                json={"topic": "How tides work", "task": "generate_hashtags"},
                headers={"Authorization": f"Bearer {tokens['alice']}"},
            ) as r:
                assert r.status == 202
            event = await alice[0][0].receive(timeout=30)  # type: ignore[attr-defined]
            assert event.type == aiohttp.WSMsgType.TEXT and "task_id" in event.json()
            for ws, _ in [*alice, *bob]:
                await ws.close()  # type: ignore[attr-defined]

    asyncio.run(run())


def test_a_socket_without_a_token_is_closed_within_its_deadline(served: ServedApp) -> None:
    async def run() -> float:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"{served.url.replace('http', 'ws')}/ws/alice")
            t0 = time.monotonic()
            message = await ws.receive(timeout=AUTH_TIMEOUT_S + 5)
            while message.type == aiohttp.WSMsgType.TEXT:
                message = await ws.receive(timeout=AUTH_TIMEOUT_S + 5)
            assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1008
            return time.monotonic() - t0

    assert asyncio.run(run()) < AUTH_TIMEOUT_S + 1.5


def test_revoking_a_user_closes_their_live_streams(served: ServedApp) -> None:
    token = served.user("mallory")

    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            ws, first = await _socket(session, served, "mallory", token)
            sse = await session.get(f"{served.url}/api/v1/events?token={token}")
            assert first["type"] == "subscribed" and sse.status == 200
            env = {**served.env, "REELS_REDIS_URL": served.redis_url}
            await asyncio.to_thread(
                subprocess.run, [REELS, "users", "revoke", "mallory"], env=env, check=True, timeout=60
            )
            t0 = time.monotonic()
            message = await ws.receive(timeout=15)  # type: ignore[attr-defined]
            while message.type == aiohttp.WSMsgType.TEXT:
                message = await ws.receive(timeout=15)  # type: ignore[attr-defined]
            assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1008
            text = await asyncio.wait_for(sse.content.read(), 15)  # the stream ends
            assert b"revoked" in text and time.monotonic() - t0 < 12

    asyncio.run(run())
