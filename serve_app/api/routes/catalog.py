"""What a submission may choose from: voices of the configured speech engine, platform presets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipeline.platforms import PRESETS
from pipeline.providers import make_engine
from serve_app.api.deps import CurrentUser, Service
from serve_app.api.schemas import Voice
from serve_app.api.services import API

router = APIRouter(prefix=API, tags=["catalog"])


@router.get("/voices", response_model=list[Voice])
async def voices(user: CurrentUser, service: Service) -> list[Voice]:
    engine = make_engine(service.config.providers)
    return [Voice(id=v.id, name=v.name, language=v.language, engine=v.engine) for v in engine.voices()]


@router.get("/platforms")
async def platforms(user: CurrentUser) -> dict[str, Any]:
    return {
        name: {"width": p.width, "height": p.height, "fps": p.fps, "max_duration_s": p.max_duration_s}
        for name, p in PRESETS.items()
    }
