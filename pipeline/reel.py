"""The reel pipeline, stage by stage: write the script, narrate it (or take a voiceover), plan, render, export.

`make_reel` runs every stage in this process (`reels make`, the single-stage video tasks); a workflow runs the same
functions as its content, speech and video stages, one Ray task each, so both make the same plan and the same
files from the same inputs.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import limits
from pipeline.audio import MIX_RATE, load_audio
from pipeline.captions import WordTiming, load_captions
from pipeline.errors import InvalidInputError, InvalidMediaError
from pipeline.plan import RenderPlan
from pipeline.planner import build_plan, check_script_length
from pipeline.platforms import PlatformPreset
from pipeline.progress import StageProgress
from pipeline.render import SegmentRunner, render
from pipeline.script import Brief, Script, ScriptWriter
from pipeline.sidecars import write_sidecars
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

    def brief(self, words_per_minute: float) -> Brief:
        """What the writer gets; `words_per_minute`: the narrator's pace at rate 1.0."""
        return Brief(self.topic, self.audience, self.tone, self.target_seconds, words_per_minute * self.rate)


@dataclass(frozen=True)
class SpokenTrack:
    """The narration on disk with its word timings: what the speech stage hands to the video stage."""

    path: Path
    words: list[WordTiming]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "narration": str(self.path),
            "words": [w.to_dict() for w in self.words],
            "narration_seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SpokenTrack:
        return cls(Path(raw["narration"]), [WordTiming.from_dict(w) for w in raw["words"]], raw["narration_seconds"])


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


def write_script(writer: ScriptWriter, brief: Brief, preset: PlatformPreset, progress: StageProgress = _noop) -> Script:
    """The script for `brief`, refused before any speech when it cannot fit the platform at the brief's pace."""
    progress("script", 0.0, "writing the script")
    script = writer.write(brief)
    check_script_length(script, preset, brief.words_per_minute)
    progress("script", 1.0, f"{script.word_count} words")
    return script


def check_voice(engine: SpeechEngine, voice: str | None) -> None:
    """Before any stage runs: a voice the engine does not have fails here, not after the script is written."""
    if voice is not None and voice not in {v.id for v in engine.voices()}:
        raise InvalidInputError("voice", f"unknown {engine.name} voice {voice!r} (see `reels voices`)")


def narrate(
    sentences: list[str],
    engine: SpeechEngine,
    voice: str | None,
    rate: float,
    path: Path,
    progress: StageProgress = _noop,
) -> SpokenTrack:
    """The sentences spoken into the WAV `path`, with each word's timing (the voice checked with check_voice)."""
    narration = engine.synthesize(sentences, voice, rate, lambda f, s: progress("speech", f, s))
    if narration.duration <= 0:
        raise InvalidInputError("script", "the speech engine produced no audio")
    write_wav(path, narration.audio, narration.sample_rate)
    return SpokenTrack(path, narration.words, narration.duration)


def take_voiceover(
    topic: str, voiceover: str, captions: str, progress: StageProgress = _noop
) -> tuple[Script, SpokenTrack]:
    """A recorded voiceover and its captions in place of the script and speech stages."""
    words = load_captions(captions)
    seconds = len(load_audio(voiceover)) / MIX_RATE
    if words[-1].end > seconds + 0.5:
        raise InvalidMediaError(
            captions, f"captions run to {words[-1].end:.1f} s but the voiceover is {seconds:.1f} s long"
        )
    script = Script(title=topic.strip(), hook=" ".join(w.word for w in words), beats=())
    progress("script", 1.0, "using the voiceover's captions")
    progress("speech", 1.0, "using the voiceover")
    return script, SpokenTrack(Path(voiceover), words, seconds)


def plan_reel(
    preset: PlatformPreset,
    track: SpokenTrack,
    background: str | None,
    music: str | None,
    title: str,
    progress: StageProgress = _noop,
) -> RenderPlan:
    plan = build_plan(preset, track.path, track.words, track.seconds, background, music, title)
    progress("plan", 1.0, f"{plan.frame_count} frames")
    return plan


def _in_place(path: Path) -> Path:
    return path


def prepare(
    req: ReelRequest,
    writer: ScriptWriter,
    engine: SpeechEngine,
    work: Path,
    progress: StageProgress = _noop,
    keep: Callable[[Path], Path] = _in_place,
) -> tuple[Script, RenderPlan]:
    """Every stage before the render; cheap compared with it, and fails early on bad input. The narration is
    spoken into `work`; `keep` moves it to where the plan should find it later (default: it stays there)."""
    if req.voiceover is not None and req.captions is not None:
        script, track = take_voiceover(req.topic, req.voiceover, req.captions, progress)
    else:
        check_voice(engine, req.voice)
        script = write_script(writer, req.brief(engine.words_per_minute), req.preset, progress)
        spoken = narrate(script.sentences(), engine, req.voice, req.rate, work / "narration.wav", progress)
        track = dataclasses.replace(spoken, path=keep(spoken.path))
    return script, plan_reel(req.preset, track, req.background, req.music, script.title, progress)


def render_and_export(
    plan: RenderPlan,
    script: Script,
    topic: str,
    preset: PlatformPreset,
    writer: ScriptWriter | None,
    out: Path,
    runner: SegmentRunner | None = None,
    progress: StageProgress = _noop,
) -> ReelResult:
    """The video stage's end: the MP4, then its captions and metadata beside it."""
    render(plan, out, runner, progress=lambda f, s: progress("render", f, s))
    files = write_sidecars(out, plan, script, topic, preset, writer)
    progress("export", 1.0, "done")
    duration = plan.frame_count / plan.output.fps
    return ReelResult(out, files.srt, files.vtt, files.metadata, plan, script, duration, files.extras)


def check_output(output: str | Path) -> Path:
    out = Path(output)
    if out.suffix.lower() != ".mp4":
        raise InvalidInputError("--output", f"{out} must end in .mp4")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def make_reel(
    req: ReelRequest,
    writer: ScriptWriter,
    engine: SpeechEngine,
    output: str | Path,
    runner: SegmentRunner | None = None,
    progress: StageProgress = _noop,
    keep: Callable[[Path], Path] = _in_place,
) -> ReelResult:
    """Every stage in this process; `runner` encodes the render's segments (default: here, on the CPU). `keep`
    stores the narration where the saved plan can find it again (default: nowhere; the plan is for this render)."""
    out = check_output(output)
    with tempfile.TemporaryDirectory(prefix="reels-make-") as tmp:
        script, plan = prepare(req, writer, engine, Path(tmp), progress, keep)
        return render_and_export(plan, script, req.topic, req.preset, writer, out, runner, progress)
