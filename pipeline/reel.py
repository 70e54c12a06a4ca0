"""One reel end to end on this process: brief -> script -> narration -> plan -> MP4 + SRT + VTT + metadata."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline import limits
from pipeline.audio import load_audio
from pipeline.captions import WordTiming, load_captions, to_srt, to_vtt
from pipeline.content import analyze, hook_variations, platform_copy
from pipeline.errors import InvalidInputError, InvalidMediaError, ProviderError
from pipeline.files import write_text_atomic
from pipeline.plan import RenderPlan
from pipeline.planner import build_plan, check_script_length
from pipeline.platforms import PRESETS, SOCIAL_PLATFORMS, PlatformPreset
from pipeline.progress import Progress, StageProgress
from pipeline.render import render
from pipeline.script import Brief, Script, ScriptWriter
from pipeline.speech.base import SpeechEngine, write_wav


@dataclass(frozen=True)
class ReelRequest:
    topic: str
    preset: PlatformPreset
    audience: str = "curious viewers"
    tone: str = "energetic"
    target_seconds: float = 30.0
    voice: str | None = None
    rate: float = 1.0
    background: str | None = None
    music: str | None = None
    voiceover: str | None = None
    captions: str | None = None

    def __post_init__(self) -> None:
        if (self.voiceover is None) != (self.captions is None):
            raise InvalidInputError("--voiceover/--captions", "give both a voiceover audio file and its captions file")
        limits.SPEECH_RATE.check("rate", self.rate)
        limits.REEL_SECONDS.check("target_seconds", self.target_seconds)
        for name in ("background", "music", "voiceover", "captions"):
            value = getattr(self, name)
            if value is not None and not Path(value).exists():
                raise InvalidMediaError(str(value), f"{name}: no such file or folder")


@dataclass
class ReelResult:
    video: Path
    srt: Path
    vtt: Path
    metadata: Path
    plan: RenderPlan
    script: Script
    duration: float
    extras: dict[str, object] = field(default_factory=dict)


def _noop(stage: str, fraction: float, status: str) -> None:
    return None


def voiceover_script(topic: str, words: list[WordTiming]) -> Script:
    text = " ".join(w.word for w in words)
    return Script(title=topic.strip(), hook=text, beats=())


def prepare(
    req: ReelRequest, writer: ScriptWriter, engine: SpeechEngine, work: Path, progress: StageProgress = _noop
) -> tuple[Script, RenderPlan]:
    """Everything before rendering; cheap compared with the render, and fails early on bad input."""
    if req.voiceover is not None and req.captions is not None:
        words = load_captions(req.captions)
        audio = load_audio(req.voiceover)
        seconds = len(audio) / 48_000
        if words[-1].end > seconds + 0.5:
            raise InvalidMediaError(
                req.captions,
                f"captions run to {words[-1].end:.1f} s but the voiceover is {seconds:.1f} s long",
            )
        script = voiceover_script(req.topic, words)
        narration_path: Path = Path(req.voiceover)
        progress("script", 1.0, "using the voiceover's captions")
        progress("speech", 1.0, "using the voiceover")
    else:
        if req.voice is not None and req.voice not in {v.id for v in engine.voices()}:
            raise InvalidInputError("voice", f"unknown {engine.name} voice {req.voice!r} (see `reels voices`)")
        progress("script", 0.0, "writing the script")
        pace = engine.words_per_minute * req.rate
        script = writer.write(Brief(req.topic, req.audience, req.tone, req.target_seconds, pace))
        check_script_length(script, req.preset, pace)
        progress("script", 1.0, f"{script.word_count} words")
        narration = engine.synthesize(script.sentences(), req.voice, req.rate, lambda f, s: progress("speech", f, s))
        if narration.duration <= 0:
            raise InvalidInputError("script", "the speech engine produced no audio")
        narration_path = work / "narration.wav"
        write_wav(narration_path, narration.audio, narration.sample_rate)
        words, seconds = narration.words, narration.duration
    plan = build_plan(req.preset, narration_path, words, seconds, req.background, req.music, script.title)
    progress("plan", 1.0, f"{plan.frame_count} frames")
    return script, plan


Renderer = Callable[[RenderPlan, Path, Progress], object]


def make_reel(
    req: ReelRequest,
    writer: ScriptWriter,
    engine: SpeechEngine,
    output: str | Path,
    device: str = "cpu",
    segments: int = 1,
    progress: StageProgress = _noop,
    renderer: Renderer | None = None,
) -> ReelResult:
    """`renderer` replaces the in-process render (the Ray layer passes a segment-parallel one)."""
    out = Path(output)
    if out.suffix.lower() != ".mp4":
        raise InvalidInputError("--output", f"{out} must end in .mp4")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reels-make-") as tmp:
        script, plan = prepare(req, writer, engine, Path(tmp), progress)
        report = lambda f, s: progress("render", f, s)  # noqa: E731
        if renderer is None:
            render(plan, out, device=device, segments=segments, progress=report)
        else:
            renderer(plan, out, report)
    srt, vtt, meta, extras = write_sidecars(out, plan, script, req.topic, req.preset, writer)
    progress("export", 1.0, "done")
    return ReelResult(out, srt, vtt, meta, plan, script, plan.frame_count / plan.output.fps, extras)


def write_sidecars(
    out: Path, plan: RenderPlan, script: Script, topic: str, preset: PlatformPreset, writer: ScriptWriter | None
) -> tuple[Path, Path, Path, dict[str, object]]:
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
    return srt, vtt, meta, extras


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
