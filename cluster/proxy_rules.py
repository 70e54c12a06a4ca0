"""What Serve's HTTP proxy does before a request reaches a replica: reading its body, whole, within a deadline.

Serve calls `middlewares` in each proxy process when `RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH` names it there
(`reels serve` sets it for the Ray it starts; a cluster's nodes set it in ray_cluster.yaml and the Dockerfile).
A replica holds a request slot (256 each) from the moment the proxy routes a request to it, so a client that sends
headers and then trickles its body would hold one for as long as it liked; held in the proxy, it costs a coroutine,
and after `REELS_API_BODY_TIMEOUT_S` it gets 408 and loses its connection."""

from __future__ import annotations

import os

from starlette.middleware import Middleware

from cluster.settings import Settings
from serve_app.api.bodies import BodyRules

CALLBACK_ENV = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
CALLBACK = f"{__name__}.middlewares"


def middlewares() -> list[Middleware]:
    settings = Settings()
    return [Middleware(BodyRules, max_bytes=settings.api_max_body_bytes, timeout_s=settings.api_body_timeout_s)]


def install() -> None:
    """Name the callback for the proxies of a Ray this process starts (they inherit its environment)."""
    os.environ.setdefault(CALLBACK_ENV, CALLBACK)
