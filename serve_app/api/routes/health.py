"""Liveness and readiness, without auth (load balancers and Serve health checks call them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from serve_app.api.deps import Service
from serve_app.api.responses import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(service: Service) -> Health:
    """The API process is up; says whether Redis and the Dispatcher answer."""
    ok = service.healthy_redis()
    dispatcher = ("up" if service.dispatcher_up() else "down") if ok else "unknown"
    return Health(status="ok", redis=ok, dispatcher=dispatcher)


@router.get("/ready", response_model=Health, responses={503: {"model": Health}})
def ready(service: Service) -> JSONResponse:
    """Ready to take work: Redis answers and a Dispatcher has reported within 10 s (503 otherwise)."""
    ok = service.healthy_redis()
    up = ok and service.dispatcher_up()
    body = Health(status="ok" if up else "unavailable", redis=ok, dispatcher="up" if up else "down")
    return JSONResponse(body.model_dump(), status_code=200 if up else 503)
