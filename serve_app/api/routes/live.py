"""Live progress: the user's Redis channel forwarded over WebSocket (/ws/{user_id}) or Server-Sent Events.

The streams stay on the event loop, so everything they ask Redis goes through an asyncio connection of their own
(redis.asyncio): a slow Redis delays a stream, never the replica's other streams and requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from serve_app.api.deps import CurrentUser, Service
from serve_app.api.services import API, ReelsService
from serve_app.api.streams import UNAUTHENTICATED, StreamGate, TooManyStreams
from serve_app.users import AsyncUserStore

router = APIRouter(tags=["live"])
POLICY_VIOLATION = 1008  # the WebSocket close code for "not allowed"


@contextlib.asynccontextmanager
async def live_redis(url: str) -> AsyncIterator[Any]:
    """One stream's asyncio Redis client (its token checks and its subscription), closed however the client leaves.
    Per stream, because an asyncio connection belongs to the event loop that opened it."""
    client = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5)
    try:
        yield client
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def subscription(client: Any, channel: str) -> AsyncIterator[Any]:
    """One Redis subscription, always unsubscribed however the client leaves."""
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(channel)
        yield pubsub
    finally:
        with contextlib.suppress(Exception):
            await pubsub.unsubscribe()
        await pubsub.aclose()


def _token_from(message: str) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        data = json.loads(message)
        if isinstance(data, dict):
            return str(data.get("token", ""))
    return message.strip()


async def _token(ws: WebSocket, service: ReelsService, token: str | None) -> str | None:
    """The token from `?token=`, or from the first message within the auth deadline (then the socket is open)."""
    if token is not None:
        return token
    await ws.accept()
    try:
        first = await asyncio.wait_for(ws.receive_text(), timeout=service.config.ws_auth_timeout_s)
    except (TimeoutError, WebSocketDisconnect):
        return None
    return _token_from(first)


async def _refuse(ws: WebSocket, reason: str, handshake: bool = False) -> None:
    """Close with 1008 and the reason, after an error message. `handshake`: a socket not accepted yet is refused in
    its handshake instead (a bad token in the URL)."""
    if ws.client_state.name == "CONNECTING":
        if handshake:
            return await ws.close(code=POLICY_VIOLATION, reason=reason)
        await ws.accept()  # accepted first, so the client sees the close code and the reason
    with contextlib.suppress(Exception):
        await ws.send_json({"type": "error", "detail": reason})
        await ws.close(code=POLICY_VIOLATION, reason=reason)


async def _still_valid(users: AsyncUserStore, token: str, every_s: float) -> None:
    """Returns when the token stops working (its user was revoked)."""
    while True:
        await asyncio.sleep(every_s)
        if await users.authenticate(token) is None:
            return


@router.websocket("/ws/{user_id}")
async def progress_socket(ws: WebSocket, user_id: str, token: str | None = None) -> None:
    """Progress events of `user_id`'s tasks as JSON text frames. Authenticate with `?token=` or send the token (or
    {"token": …}) as the first message within a few seconds; another user's channel, a user's streams over their
    cap and a server's over its own are refused (close code 1008, with the reason); a revoked token's socket is
    closed within seconds."""
    service: ReelsService = await run_in_threadpool(ws.app.state.service)  # the first call connects
    gate: StreamGate = ws.app.state.streams
    try:
        with gate.hold(UNAUTHENTICATED):
            given = await _token(ws, service, token)
    except TooManyStreams as e:
        return await _refuse(ws, str(e))
    async with live_redis(service.config.redis_url) as client:
        users = AsyncUserStore(client, service.users.p)
        user = await users.authenticate(given) if given else None
        if user is None or (user.id != user_id and not user.is_admin):
            reason = "invalid or missing token" if user is None else "not your channel"
            return await _refuse(ws, reason, handshake=True)
        assert given is not None
        try:
            with gate.hold(user.id):
                if ws.client_state.name == "CONNECTING":
                    await ws.accept()
                await _forward(ws, service, client, user_id, given)
        except TooManyStreams as e:
            await _refuse(ws, str(e))


async def _forward(ws: WebSocket, service: ReelsService, client: Any, user_id: str, token: str) -> None:
    users = AsyncUserStore(client, service.users.p)
    async with subscription(client, service.store.channel(user_id)) as sub:
        await ws.send_json({"type": "subscribed", "user_id": user_id})

        async def forward() -> None:
            async for message in sub.listen():
                await ws.send_text(service.shown(message["data"]))

        async def until_closed() -> None:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass

        watch = asyncio.ensure_future(_still_valid(users, token, service.config.auth_recheck_s))
        tasks = [asyncio.ensure_future(forward()), asyncio.ensure_future(until_closed()), watch]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if watch.done() and not watch.cancelled():
            await _refuse(ws, "the token was revoked")


@router.get(
    f"{API}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "progress events, one per `data:` line"}},
)
async def progress_events(request: Request, user: CurrentUser, service: Service) -> StreamingResponse:
    """Server-Sent Events for clients without WebSocket (EventSource: pass `?token=`); a comment every 15 s keeps
    proxies from closing the stream."""
    gate: StreamGate = request.app.state.streams
    token = _request_token(request)
    held = gate.hold(user.id)
    try:
        held.__enter__()
    except TooManyStreams as e:
        raise HTTPException(429, str(e), headers={"Retry-After": "5"}) from None

    async def stream() -> AsyncIterator[str]:
        try:
            async with (
                live_redis(service.config.redis_url) as client,
                subscription(client, service.store.channel(user.id)) as sub,
            ):
                users = AsyncUserStore(client, service.users.p)
                yield ": subscribed\n\n"
                quiet = checked = 0.0
                while not await request.is_disconnected():
                    message = await sub.get_message(timeout=1.0)
                    if message:
                        quiet = 0.0
                        yield f"event: progress\ndata: {service.shown(message['data'])}\n\n"
                    elif (quiet := quiet + 1.0) >= service.config.keepalive_s:
                        quiet = 0.0
                        yield ": keepalive\n\n"
                    if time.monotonic() - checked >= service.config.auth_recheck_s:
                        checked = time.monotonic()
                        if await users.authenticate(token) is None:
                            yield 'event: error\ndata: {"detail": "the token was revoked"}\n\n'
                            return
        finally:
            with contextlib.suppress(RuntimeError):  # released already
                held.__exit__(None, None, None)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    body = stream()
    weakref.finalize(body, held.__exit__, None, None, None)  # a stream never started is released too
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


def _request_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    return credentials if scheme.lower() == "bearer" and credentials else request.query_params.get("token", "")
