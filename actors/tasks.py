"""The task types (docs/api.md lists them), each a thin shell over pipeline/: validate params, run the pipeline,
store artifacts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from actors.gpu_pool import GpuPool
from actors.registry import StageContext, TaskSpec, register
from actors.segments import runner_for
from pipeline import limits
from pipeline.captions import to_srt, to_vtt
from pipeline.content import analyze, hashtags_for, hook_variations
from pipeline.errors import InvalidInputError, ScriptTooLongError
from pipeline.files import write_text_atomic
from pipeline.plan import OutputSpec, RenderPlan
from pipeline.platforms import SOCIAL_PLATFORMS, PlatformName, PlatformPreset, get_preset, parse_size
from pipeline.progress import by_stage, stage_weight
from pipeline.providers import make_engine, make_writer, speech_pace
from pipeline.reel import (
    ReelRequest,
    SpokenTrack,
    check_voice,
    make_reel,
    narrate,
    plan_reel,
    render_and_export,
    write_script,
)
from pipeline.render import SegmentRunner, render
from pipeline.script import WORDS_PER_MINUTE, Brief, Script


def _size(text: str) -> str:
    parse_size(text)  # within pipeline.limits, else InvalidInputError (a ValueError: pydantic names the field)
    return text


Size = Annotated[str, AfterValidator(_size)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContentParams(Params):
    topic: str = Field(min_length=1, max_length=limits.TOPIC_CHARS)
    target_audience: str = Field("curious viewers", max_length=limits.AUDIENCE_CHARS)
    tone: str = Field("energetic", max_length=limits.TONE_CHARS)
    platform: PlatformName = "tiktok"
    target_seconds: float = Field(30.0, ge=limits.REEL_SECONDS.lo, le=limits.REEL_SECONDS.hi)
    rate: float = Field(1.0, ge=limits.SPEECH_RATE.lo, le=limits.SPEECH_RATE.hi)  # the pace the script is for

    @field_validator("topic")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    def brief(self, words_per_minute: float = WORDS_PER_MINUTE) -> Brief:
        """`words_per_minute`: the narrator's pace at rate 1.0."""
        pace = words_per_minute * self.rate
        return Brief(self.topic, self.target_audience, self.tone, self.target_seconds, pace)


class VariationParams(ContentParams):
    count: int = Field(3, ge=limits.HOOK_VARIATIONS.lo, le=limits.HOOK_VARIATIONS.hi)


class QualityParams(Params):
    script: dict[str, Any] | None = None
    topic: str = Field("", max_length=300)
    platform: PlatformName = "tiktok"


class SpeechParams(Params):
    text: str | None = Field(None, max_length=limits.SPEECH_TEXT_CHARS)
    voice: str | None = None
    rate: float = Field(1.0, ge=limits.SPEECH_RATE.lo, le=limits.SPEECH_RATE.hi)
    engine: Literal["espeak", "coqui", "openai"] | None = None


class VideoParams(ContentParams):
    voice: str | None = None
    size: Size | None = None  # "WxH" override for previews and tests
    background: str | None = None
    music: str | None = None
    advanced: bool = False

    def preset(self) -> PlatformPreset:
        p = get_preset(self.platform)
        return p.at_size(*parse_size(self.size)) if self.size else p

    def music_bed(self) -> str | None:
        return self.music if self.advanced else None

    def request(self) -> ReelRequest:
        return ReelRequest(
            self.topic,
            self.preset(),
            self.target_audience,
            self.tone,
            self.target_seconds,
            self.voice,
            self.rate,
            self.background,
            self.music_bed(),
        )


class OptimizeParams(Params):
    plan: str  # path of a RenderPlan JSON (a finished job's plan artifact)
    platform: PlatformName = "tiktok"
    size: Size | None = None


class RenderPlanParams(Params):
    plan: str  # path of a RenderPlan JSON the API checked and stored in the data folder


class BatchParams(Params):
    items: list[VideoParams] = Field(min_length=1, max_length=100)


def _outputs(ctx: StageContext) -> Path:
    out = Path(ctx.config.data_dir) / "outputs" / ctx.job.id
    out.mkdir(parents=True, exist_ok=True)
    return out


def generate_content(p: ContentParams, ctx: StageContext) -> dict[str, Any]:
    pace = speech_pace(ctx.config.providers)  # the engine the speech stage will use by default
    writer = make_writer(ctx.config.providers)
    script = write_script(writer, p.brief(pace), get_preset(p.platform), by_stage(ctx.progress, ["script"]))
    path = ctx.artifacts.put_bytes(json.dumps(script.to_dict()).encode(), ".script.json")
    ctx.progress(1.0, f"{script.word_count} words")
    return {"script": script.to_dict(), "script_artifact": str(path)}


def generate_hashtags(p: ContentParams, ctx: StageContext) -> dict[str, Any]:
    tags = {name: hashtags_for(p.topic, p.topic, name) for name in SOCIAL_PLATFORMS}
    ctx.progress(1.0, "hashtags ready")
    return {"hashtags": tags}


def analyze_content_quality(p: QualityParams, ctx: StageContext) -> dict[str, Any]:
    raw = p.script or ctx.inputs.get("script")
    if raw is None:
        script = make_writer(ctx.config.providers).write(Brief(p.topic or "untitled"))
    else:
        script = Script.from_dict(raw)
    ctx.progress(1.0, "analysed")
    return {"quality": analyze(script, get_preset(p.platform)).to_dict()}


def generate_variations(p: VariationParams, ctx: StageContext) -> dict[str, Any]:
    writer = make_writer(ctx.config.providers)
    make = getattr(writer, "hook_variations", None)
    hooks = list(make(p.topic, p.count)) if callable(make) else hook_variations(p.topic, p.count)
    ctx.progress(1.0, "variations ready")
    return {"hooks": hooks}


def generate_speech(p: SpeechParams, ctx: StageContext) -> dict[str, Any]:
    if p.text:
        sentences = [s for s in p.text.replace("\n", " ").split(". ") if s.strip()]
    elif "script" in ctx.inputs:
        sentences = Script.from_dict(ctx.inputs["script"]).sentences()
    else:
        raise InvalidInputError("params.text", "give the text to speak (or run after generate_content)")
    engine = make_engine(ctx.config.providers, p.engine)
    check_voice(engine, p.voice)
    progress = by_stage(ctx.progress, ["speech"])
    track = narrate(sentences, engine, p.voice, p.rate, ctx.work_dir / "narration.wav", progress)
    stored = dataclasses.replace(track, path=ctx.artifacts.put_file(track.path, ".wav"))
    ctx.progress(1.0, f"{track.seconds:.1f} s of narration")
    return stored.to_dict()


def _runner(ctx: StageContext, on_pool: bool = False) -> SegmentRunner:
    """Where a stage's render encodes its segments: the GPU pool for the 4K master, else as configured."""
    if on_pool:
        device = "cpu" if ctx.config.allow_gpu_on_cpu else "cuda"
        return GpuPool(ctx.job.id, device, ctx.config.gpu_segments)
    return runner_for(ctx.config.render_segments, ctx.config.providers.device)


def generate_video(p: VideoParams, ctx: StageContext, on_pool: bool = False) -> dict[str, Any]:
    out = _outputs(ctx) / "reel.mp4"
    writer, runner = make_writer(ctx.config.providers), _runner(ctx, on_pool)
    if "narration" in ctx.inputs:  # a workflow's last stage: the script and the speech are made
        progress = by_stage(ctx.progress, ["plan", "render", "export"])
        script, track = Script.from_dict(ctx.inputs["script"]), SpokenTrack.from_dict(ctx.inputs)
        plan = plan_reel(p.preset(), track, p.background, p.music_bed(), script.title, progress)
        result = render_and_export(plan, script, p.topic, p.preset(), writer, out, runner, progress)
    else:
        engine = make_engine(ctx.config.providers)
        # The narration goes to the artifact store, so that the saved plan can be rendered again (another platform).
        keep = lambda path: ctx.artifacts.put_file(path, ".wav")  # noqa: E731
        result = make_reel(p.request(), writer, engine, out, runner, by_stage(ctx.progress), keep)
    plan_path = out.with_suffix(".plan.json")
    result.plan.save(plan_path)
    return {
        "video": str(out),
        "srt": str(result.srt),
        "vtt": str(result.vtt),
        "metadata": str(result.metadata),
        "plan": str(plan_path),
        "duration": round(result.duration, 3),
    }


def optimize_video_for_platform(p: OptimizeParams, ctx: StageContext) -> dict[str, Any]:
    """Re-render a finished job's plan for another platform's frame size, bitrate cap and safe zone."""
    plan = RenderPlan.load(p.plan)
    preset = get_preset(p.platform)
    preset = preset.at_size(*parse_size(p.size)) if p.size else preset
    check = plan.duration + 0.0
    if check > preset.max_duration_s:
        raise ScriptTooLongError(preset.name, check, preset.max_duration_s, 0)
    plan = dataclasses.replace(plan, output=OutputSpec.from_preset(preset))
    out = _outputs(ctx) / f"reel-{preset.name}.mp4"
    render(plan, out, _runner(ctx), progress=ctx.progress)
    return {"video": str(out), "platform": preset.name}


def render_edited_plan(p: RenderPlanParams, ctx: StageContext) -> dict[str, Any]:
    """Render a user's edited RenderPlan (retimed captions, new style, trimmed layers) with fresh SRT/VTT."""
    plan = RenderPlan.load(p.plan)
    out = _outputs(ctx) / "reel.mp4"
    render(plan, out, _runner(ctx), progress=ctx.progress)
    pages = list(plan.captions.pages)
    write_text_atomic(out.with_suffix(".srt"), to_srt(pages))
    write_text_atomic(out.with_suffix(".vtt"), to_vtt(pages))
    plan.save(out.with_suffix(".plan.json"))
    return {
        "video": str(out),
        "srt": str(out.with_suffix(".srt")),
        "vtt": str(out.with_suffix(".vtt")),
        "plan": str(out.with_suffix(".plan.json")),
        "duration": round(plan.frame_count / plan.output.fps, 3),
    }


def batch_generate_videos(p: BatchParams, ctx: StageContext) -> dict[str, Any]:
    """Bulk processing inside one video slot: items render one after another."""
    videos = []
    for i, item in enumerate(p.items):

        def report(f: float, s: str, i: int = i) -> None:
            ctx.progress((i + f) / len(p.items), f"item {i + 1}: {s}")

        sub = StageContext(ctx.job, report, ctx.work_dir, ctx.artifacts, ctx.config)
        result = generate_video(item, sub)
        target = _outputs(ctx) / f"item{i:03d}.mp4"
        Path(result["video"]).replace(target)
        videos.append(str(target))
    return {"videos": videos}


def generate_advanced_video(p: VideoParams, ctx: StageContext) -> dict[str, Any]:
    """Effects and the ducked music bed on."""
    return generate_video(p.model_copy(update={"advanced": True}), ctx)


def process_ultra_quality_video(p: VideoParams, ctx: StageContext) -> dict[str, Any]:
    """The 4K master: the same plan at 2160x3840, composed on the GPU actor pool, encoded in parallel segments."""
    return generate_video(p.model_copy(update={"platform": "4k"}), ctx, on_pool=True)


C, S, V = "content", "speech", "video"
# A workflow's stages share its progress as the reel's stages do (pipeline.progress.REEL_STAGES).
SCRIPT_W, SPEECH_W, VIDEO_W = (
    stage_weight(["script"]),
    stage_weight(["speech"]),
    stage_weight(["plan", "render", "export"]),
)
register(
    TaskSpec(
        "generate_content", C, ContentParams, generate_content, soft_limit_s=300, hard_limit_s=600, weight=SCRIPT_W
    )
)
register(TaskSpec("generate_hashtags", C, ContentParams, generate_hashtags, soft_limit_s=60, hard_limit_s=120))
register(
    TaskSpec("analyze_content_quality", C, QualityParams, analyze_content_quality, soft_limit_s=300, hard_limit_s=600)
)
register(TaskSpec("generate_variations", C, VariationParams, generate_variations, soft_limit_s=300, hard_limit_s=600))
register(
    TaskSpec("generate_speech", S, SpeechParams, generate_speech, soft_limit_s=600, hard_limit_s=1200, weight=SPEECH_W)
)
register(TaskSpec("generate_video", V, VideoParams, generate_video, weight=VIDEO_W))
register(TaskSpec("generate_advanced_video", V, VideoParams, generate_advanced_video))
register(TaskSpec("optimize_video_for_platform", V, OptimizeParams, optimize_video_for_platform))
register(TaskSpec("render_plan", V, RenderPlanParams, render_edited_plan))
register(
    TaskSpec("batch_generate_videos", V, BatchParams, batch_generate_videos, soft_limit_s=7200, hard_limit_s=10800)
)
# The stage holds a gpu-queue slot; the pool's actor holds the GPU (a stage asking for one too would deadlock a
# one-GPU node).
register(TaskSpec("process_ultra_quality_video", "gpu", VideoParams, process_ultra_quality_video))
register(TaskSpec("workflow", C, VideoParams, stages=("generate_content", "generate_speech", "generate_video")))
