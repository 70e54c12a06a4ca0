"""Live progress: the user's Redis channel forwarded over WebSocket (/ws/{user_id}) or Server-Sent Events."""

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

from serve_app.api.deps import CurrentUser
from serve_app.api.services import API, ReelsService
from serve_app.api.streams import UNAUTHENTICATED, StreamGate, TooManyStreams

router = APIRouter(tags=["live"])
POLICY_VIOLATION = 1008  # the WebSocket close code for "not allowed"


@contextlib.asynccontextmanager
async def subscription(url: str, channel: str) -> AsyncIterator[Any]:
    """One Redis subscription, always unsubscribed and its connection closed however the client leaves."""
    client = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(channel)
        yield pubsub
    finally:
        with contextlib.suppress(Exception):
            await pubsub.unsubscribe()
        await pubsub.aclose()
        await client.aclose()


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


async def _still_valid(service: ReelsService, token: str) -> None:
    """Returns when the token stops working (its user was revoked)."""
    while True:
        await asyncio.sleep(service.config.auth_recheck_s)
        if service.users.authenticate(token) is None:
            return


@router.websocket("/ws/{user_id}")
async def progress_socket(ws: WebSocket, user_id: str, token: str | None = None) -> None:
    """Progress events of `user_id`'s tasks as JSON text frames. Authenticate with `?token=` or send the token (or
    {"token": …}) as the first message within a few seconds; another user's channel, a user's streams over their
    cap and a server's over its own are refused (close code 1008, with the reason); a revoked token's socket is
    closed within seconds."""
    service: ReelsService = ws.app.state.service()
    gate: StreamGate = ws.app.state.streams
    try:
        with gate.hold(UNAUTHENTICATED):
            given = await _token(ws, service, token)
    except TooManyStreams as e:
        return await _refuse(ws, str(e))
    user = service.users.authenticate(given) if given else None
    if user is None or (user.id != user_id and not user.is_admin):
        return await _refuse(ws, "invalid or missing token" if user is None else "not your channel", handshake=True)
    assert given is not None
    try:
        with gate.hold(user.id):
            if ws.client_state.name == "CONNECTING":
                await ws.accept()
            await _forward(ws, service, user_id, given)
    except TooManyStreams as e:
        await _refuse(ws, str(e))


async def _forward(ws: WebSocket, service: ReelsService, user_id: str, token: str) -> None:
    async with subscription(service.config.redis_url, service.store.channel(user_id)) as sub:
        await ws.send_json({"type": "subscribed", "user_id": user_id})

        async def forward() -> None:
            async for message in sub.listen():
                await ws.send_text(service.shown(message["data"]))

        async def until_closed() -> None:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass

        watch = asyncio.ensure_future(_still_valid(service, token))
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
async def progress_events(request: Request, user: CurrentUser) -> StreamingResponse:
    """Server-Sent Events for clients without WebSocket (EventSource: pass `?token=`); a comment every 15 s keeps
    proxies from closing the stream."""
    service: ReelsService = request.app.state.service()
    gate: StreamGate = request.app.state.streams
    token = _request_token(request)
    held = gate.hold(user.id)
    try:
        held.__enter__()
    except TooManyStreams as e:
        raise HTTPException(429, str(e), headers={"Retry-After": "5"}) from None

    async def stream() -> AsyncIterator[str]:
        try:
            async with subscription(service.config.redis_url, service.store.channel(user.id)) as sub:
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
                        if service.users.authenticate(token) is None:
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
