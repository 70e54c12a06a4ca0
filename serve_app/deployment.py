"""The Ray Serve deployment: the plain FastAPI app behind `@serve.ingress`, with replica autoscaling."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from ray import serve
from ray.serve import Application

from actors.scaling import request_capacity
from serve_app.api.app import create_app
from serve_app.config import ApiConfig

APP_NAME = "reels"


class AppArgs(BaseModel):
    """`serve run serve_app.deployment:build_app redis_url=… data_dir=…` takes these."""

    redis_url: str
    data_dir: str
    min_replicas: int = Field(1, ge=1)
    max_replicas: int = Field(4, ge=1)
    target_ongoing_requests: float = Field(32, gt=0)


def build_app(args: dict[str, Any] | AppArgs, config: ApiConfig | None = None) -> Application:
    a = args if isinstance(args, AppArgs) else AppArgs.model_validate(args)
    app = create_app(config or ApiConfig(a.redis_url, a.data_dir), scaler=request_capacity)

    @serve.deployment(
        name="reels-api",
        autoscaling_config={
            "min_replicas": a.min_replicas,
            "max_replicas": max(a.max_replicas, a.min_replicas),
            "target_ongoing_requests": a.target_ongoing_requests,
        },
        max_ongoing_requests=256,
        ray_actor_options={"num_cpus": 0},  # the API must never take a slot a render needs
    )
    @serve.ingress(app)
    class ReelsAPI:
        pass

    return ReelsAPI.bind()  # type: ignore[attr-defined]
