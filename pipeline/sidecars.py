"""The files published beside a rendered reel: SRT and VTT captions and the metadata JSON (the script, each
platform's copy, a quality report, A/B hook variations)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.captions import to_srt, to_vtt
from pipeline.content import analyze, hook_variations, platform_copy
from pipeline.errors import ProviderError
from pipeline.files import write_text_atomic
from pipeline.plan import RenderPlan
from pipeline.platforms import PRESETS, SOCIAL_PLATFORMS, PlatformPreset
from pipeline.script import Script, ScriptWriter


@dataclass(frozen=True)
class Sidecars:
    srt: Path
    vtt: Path
    metadata: Path
    extras: dict[str, object]


def write_sidecars(
    out: Path, plan: RenderPlan, script: Script, topic: str, preset: PlatformPreset, writer: ScriptWriter | None
) -> Sidecars:
    """SRT, VTT and the metadata JSON beside a rendered video."""
    pages = list(plan.captions.pages)
    srt, vtt, meta = out.with_suffix(".srt"), out.with_suffix(".vtt"), out.with_suffix(".json")
    write_text_atomic(srt, to_srt(pages))
    write_text_atomic(vtt, to_vtt(pages))
    extras: dict[str, object] = {
        "platforms": {name: platform_copy(script, topic, PRESETS[name]).__dict__ for name in SOCIAL_PLATFORMS},
        "quality": analyze(script, preset).to_dict(),
        "hook_variations": _variations(writer, topic),
    }
    metadata = {
        "topic": topic,
        "platform": preset.name,
        "video": out.name,
        "width": plan.output.width,
        "height": plan.output.height,
        "fps": plan.output.fps,
        "duration": round(plan.frame_count / plan.output.fps, 3),
        "script": script.to_dict(),
        "captions": {
            "srt": srt.name,
            "vtt": vtt.name,
            "pages": len(pages),
            "words": [w.to_dict() for p in pages for w in p.words],
        },
        **extras,
    }
    write_text_atomic(meta, json.dumps(metadata, indent=2, default=_json_default))
    return Sidecars(srt, vtt, meta, extras)


def _variations(writer: ScriptWriter | None, topic: str) -> list[str]:
    """A/B hooks from the writer when it can make them (the LLM), offline heuristics otherwise."""
    make = getattr(writer, "hook_variations", None)
    if callable(make):
        try:
            return list(make(topic, 3))
        except ProviderError:
            pass  # the video is already made; extras fall back to the offline heuristics, not fail the reel
    return hook_variations(topic)


def _json_default(o: object) -> object:
    if isinstance(o, tuple | np.ndarray):
        return list(o)
    raise TypeError(type(o).__name__)
