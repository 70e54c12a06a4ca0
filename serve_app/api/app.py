"""The FastAPI app: routes, error mapping, request limits. Plain ASGI, no Ray: serve_app.deployment hosts it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from pipeline.errors import InvalidInputError
from serve_app.api.routes import admin, catalog, console, files, health, live, projects, tasks
from serve_app.api.services import NotFound, RateLimited, ReelsService
from serve_app.config import ApiConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Scaler = Callable[[dict[str, int]], str]
log = logging.getLogger("reels.api")


class BodyRules:
    """Refuse bodies over the limit with 413 (declared or streamed), and read a body sent without a JSON content
    type as JSON: the seed's load test posts JSON with curl's default form content type."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large(send)
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype in (b"", b"application/x-www-form-urlencoded", b"text/plain"):
            rest = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = {**scope, "headers": [*rest, (b"content-type", b"application/json")]}
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        response = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, status_code=413)
        await response({"type": "http"}, _no_receive, send)


class _TooLarge(Exception):
    pass


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _validation_detail(errors: list[dict[str, Any]]) -> dict[str, Any]:
    clean = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
    first = clean[0] if clean else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
    return {"detail": clean, "message": f"{where}: {first['msg']}"}


def create_app(config: ApiConfig, scaler: Scaler | None = None) -> FastAPI:
    """Connections are made on first use, inside the process that serves (a Serve replica), never at import."""
    app = FastAPI(
        title="Reels Generator API",
        version="1.0",
        description="Topic, script or voiceover in; publish-ready vertical video out. "
        "Every route but /health and /ready needs `Authorization: Bearer TOKEN`.",
    )
    app.state.config = config
    app.state.scaler = scaler  # asks the autoscaler for capacity; None outside a Ray cluster
    lock = threading.Lock()
    holder: list[ReelsService] = []

    def service() -> ReelsService:
        if not holder:
            with lock:
                if not holder:
                    holder.append(ReelsService(config))
        return holder[0]

    app.state.service = service
    for module in (health, tasks, projects, files, admin, catalog, live, console):
        app.include_router(module.router)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_validation_detail(list(exc.errors())), status_code=422)

    @app.exception_handler(InvalidInputError)
    async def invalid_input(_: Request, exc: InvalidInputError) -> JSONResponse:
        loc = ["body", *exc.field.split(".")]
        return JSONResponse(_validation_detail([{"loc": loc, "msg": exc.reason, "type": "value_error"}]), 422)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(RateLimited)
    async def rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(redis.RedisError)
    async def store_down(_: Request, exc: redis.RedisError) -> JSONResponse:
        log.warning("redis error on %s: %r", _.url.path, exc)
        detail = f"the job store (Redis) is unavailable ({type(exc).__name__}); retry shortly"
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "1"})

    app.add_middleware(BodyRules, max_bytes=config.max_body_bytes)
    return app
