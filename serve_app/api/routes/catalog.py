"""What a submission may choose from: voices of the configured speech engine, platform presets."""

from __future__ import annotations

from fastapi import APIRouter

from pipeline.platforms import PRESETS
from pipeline.providers import make_engine
from serve_app.api.deps import CurrentUser, Service
from serve_app.api.responses import Platform, Voice
from serve_app.api.services import API

router = APIRouter(prefix=API, tags=["catalog"])


@router.get("/voices", response_model=list[Voice])
def voices(user: CurrentUser, service: Service) -> list[Voice]:
    """The voices of the configured speech engine (a submission's `voice_id` must be one of them)."""
    engine = make_engine(service.config.providers)
    return [Voice(id=v.id, name=v.name, language=v.language, engine=v.engine) for v in engine.voices()]


@router.get("/platforms", response_model=dict[str, Platform])
def platforms(user: CurrentUser) -> dict[str, Platform]:
    """The output presets by platform name (tiktok, reels, shorts, 4k)."""
    return {
        name: Platform(width=p.width, height=p.height, fps=p.fps, max_duration_s=p.max_duration_s)
        for name, p in PRESETS.items()
    }
