"""The FastAPI app: routes, error mapping, request limits. Plain ASGI, no Ray: serve_app.deployment hosts it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from actors.quota import QuotaExceeded
from pipeline.errors import InvalidInputError
from serve_app.api.bodies import BodyRules
from serve_app.api.routes import admin, catalog, console, files, health, live, projects, tasks
from serve_app.api.services import NotFound, RateLimited, ReelsService
from serve_app.api.streams import StreamGate
from serve_app.config import ApiConfig

Scaler = Callable[[dict[str, int]], str]
log = logging.getLogger("reels.api")


def _validation_detail(errors: list[dict[str, Any]]) -> dict[str, Any]:
    clean = [{"loc": list(e["loc"]), "msg": e["msg"].removeprefix("Value error, "), "type": e["type"]} for e in errors]
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

    @app.exception_handler(QuotaExceeded)
    async def over_quota(_: Request, exc: QuotaExceeded) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "limit": exc.limit}, status_code=429)

    @app.exception_handler(RateLimited)
    async def rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(redis.RedisError)
    async def store_down(_: Request, exc: redis.RedisError) -> JSONResponse:
        log.warning("redis error on %s: %r", _.url.path, exc)
        detail = f"the job store (Redis) is unavailable ({type(exc).__name__}); retry shortly"
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "1"})

    app.state.streams = StreamGate(config.max_streams, config.max_streams_per_user)
    # The arrival deadline is the proxy's (cluster/proxy_rules.py): bodies reach a replica whole.
    app.add_middleware(BodyRules, max_bytes=config.max_body_bytes)
    return app
