"""Live progress: the user's Redis channel forwarded over WebSocket (/ws/{user_id}) or Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from serve_app.api.deps import CurrentUser
from serve_app.api.services import API, ReelsService
from serve_app.users import User

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


async def _authenticate(ws: WebSocket, service: ReelsService, token: str | None) -> User | None:
    if token is not None:
        return service.users.authenticate(token)
    await ws.accept()
    try:
        first = await asyncio.wait_for(ws.receive_text(), timeout=service.config.ws_auth_timeout_s)
    except (TimeoutError, WebSocketDisconnect):
        return None
    return service.users.authenticate(_token_from(first))


@router.websocket("/ws/{user_id}")
async def progress_socket(ws: WebSocket, user_id: str, token: str | None = None) -> None:
    """Progress events of `user_id`'s tasks as JSON text frames. Authenticate with `?token=` or send the token (or
    {"token": …}) as the first message; another user's channel is refused (close code 1008)."""
    service: ReelsService = ws.app.state.service()
    user = await _authenticate(ws, service, token)
    if user is None or (user.id != user_id and not user.is_admin):
        reason = "invalid or missing token" if user is None else "not your channel"
        if ws.client_state.name == "CONNECTING":
            await ws.close(code=POLICY_VIOLATION, reason=reason)
        else:
            await ws.send_json({"type": "error", "detail": reason})
            await ws.close(code=POLICY_VIOLATION, reason=reason)
        return
    if ws.client_state.name == "CONNECTING":
        await ws.accept()
    async with subscription(service.config.redis_url, service.store.channel(user_id)) as sub:
        await ws.send_json({"type": "subscribed", "user_id": user_id})

        async def forward() -> None:
            async for message in sub.listen():
                await ws.send_text(message["data"])

        async def until_closed() -> None:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass

        tasks = [asyncio.ensure_future(forward()), asyncio.ensure_future(until_closed())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


@router.get(
    f"{API}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "progress events, one per `data:` line"}},
)
async def progress_events(request: Request, user: CurrentUser) -> StreamingResponse:
    """Server-Sent Events for clients without WebSocket (EventSource: pass `?token=`); a comment every 15 s keeps
    proxies from closing the stream."""
    service: ReelsService = request.app.state.service()

    async def stream() -> AsyncIterator[str]:
        async with subscription(service.config.redis_url, service.store.channel(user.id)) as sub:
            yield ": subscribed\n\n"
            quiet = 0.0
            while not await request.is_disconnected():
                message = await sub.get_message(timeout=1.0)
                if message:
                    quiet = 0.0
                    yield f"event: progress\ndata: {message['data']}\n\n"
                elif (quiet := quiet + 1.0) >= service.config.keepalive_s:
                    quiet = 0.0
                    yield ": keepalive\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
