"""Request bodies, read whole before anything routes them: the size limit (413), the arrival deadline (408), and
JSON for bodies sent without a content type. Plain ASGI: the same rules run in Serve's HTTP proxy (see
cluster/proxy_rules.py), where a slow body costs one coroutine, and in the app, where it would cost a replica's
request slot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyRules:
    """Over `max_bytes` (declared, streamed or chunked) is 413; not all arrived within `timeout_s` (None: no
    deadline) is 408; both close the connection. The app behind gets the body as one message.

    A body sent without a JSON content type (or as a form or plain text) is read as JSON, so `curl -d '{…}'`
    without a Content-Type header works."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float | None = None) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await refuse(send, 413, f"request body over {self.max_bytes} bytes")
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype in (b"", b"application/x-www-form-urlencoded", b"text/plain"):
            rest = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = {**scope, "headers": [*rest, (b"content-type", b"application/json")]}
        try:
            body = await asyncio.wait_for(self._read(receive), self.timeout_s)
        except TimeoutError:
            return await refuse(send, 408, f"the request body did not arrive within {self.timeout_s:g} s")
        except _TooLarge:
            return await refuse(send, 413, f"request body over {self.max_bytes} bytes")
        except _Disconnected:
            return None
        given = False

        async def replay() -> Message:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def refuse(send: Send, status: int, detail: str) -> None:
    """A JSON error that closes the connection: what follows a refused body on it cannot be trusted."""
    response = JSONResponse({"detail": detail}, status_code=status, headers={"Connection": "close"})
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
