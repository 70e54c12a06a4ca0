"""Request shapes, validated strictly: unknown fields are refused, and so is text with control characters.
The response shapes are in serve_app/api/responses.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from pipeline import limits
from pipeline.errors import InvalidInputError
from pipeline.platforms import PlatformName, parse_size

Priority = Annotated[int, Field(ge=0, le=10, description="0 (lowest) to 10 (highest)")]
ProjectId = Annotated[int, Field(ge=1, le=2**53, description="one of your projects")]
Topic = Annotated[str, Field(min_length=1, max_length=limits.TOPIC_CHARS, pattern=r"\S")]
VoiceId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.+:-]+$")]


def _size(text: str) -> str:
    try:
        parse_size(text)
    except InvalidInputError as e:
        raise ValueError(e.reason) from None
    return text


Size = Annotated[
    str,
    Field(
        max_length=11, description=f"WxH output size, e.g. 270x480: even, sides {limits.SIDE.lo:g}–{limits.SIDE.hi:g}"
    ),
    AfterValidator(_size),
]
SpeechRate = Annotated[float, Field(ge=limits.SPEECH_RATE.lo, le=limits.SPEECH_RATE.hi, description="speaking rate")]
ReelSeconds = Annotated[float, Field(ge=limits.REEL_SECONDS.lo, le=limits.REEL_SECONDS.hi)]


class Strict(BaseModel):
    """Unknown fields are refused, and so is any text with a NUL or another control character."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                limits.check_text("text", value)
            except InvalidInputError as e:
                raise ValueError(e.reason) from None
        return value


class ReelSettings(Strict):
    """Settings a project, a submission's `video_settings` or a batch item's `settings` may carry."""

    platform: PlatformName | None = None
    target_audience: str | None = Field(None, max_length=limits.AUDIENCE_CHARS)
    tone: str | None = Field(None, max_length=limits.TONE_CHARS)
    voice_id: VoiceId | None = None
    rate: SpeechRate | None = None
    target_seconds: ReelSeconds | None = None
    size: Size | None = None


class ContentSubmit(Strict):
    project_id: ProjectId | None = None
    topic: Topic | None = None
    target_audience: str | None = Field(None, max_length=limits.AUDIENCE_CHARS)
    tone: str | None = Field(None, max_length=limits.TONE_CHARS)
    platform: PlatformName | None = None
    target_seconds: ReelSeconds | None = None
    task: Literal["generate_content", "generate_hashtags", "analyze_content_quality", "generate_variations"] = (
        "generate_content"
    )
    priority: Priority = 5


class WorkflowSubmit(Strict):
    project_id: ProjectId | None = None
    topic: Topic | None = None
    target_audience: str | None = Field(None, max_length=limits.AUDIENCE_CHARS)
    platform: PlatformName | None = None
    voice_id: VoiceId | None = None
    priority: Priority = 5
    video_settings: ReelSettings = ReelSettings()


class VideoSubmit(WorkflowSubmit):
    advanced: bool = Field(False, description="effects and the music bed")
    quality: Literal["standard", "ultra"] = Field("standard", description="ultra: the 4K master on the gpu queue")


class BatchItem(Strict):
    project_id: ProjectId | None = None
    topic: Topic | None = None
    settings: ReelSettings = ReelSettings()


class BatchSubmit(Strict):
    task_type: Literal["content", "video", "workflow"]
    items: list[BatchItem] = Field(min_length=1, max_length=500)
    priority: Priority = 5


class RerenderSubmit(Strict):
    plan: dict[str, Any] = Field(description="the task's RenderPlan, edited (GET …/files/plan)")
    priority: Priority = 5


class ProjectStyle(Strict):
    tone: str | None = Field(None, max_length=limits.TONE_CHARS)
    voice_id: VoiceId | None = None
    rate: SpeechRate | None = None
    target_seconds: ReelSeconds | None = None


class ProjectCreate(Strict):
    topic: Topic
    name: str | None = Field(None, min_length=1, max_length=120)
    target_audience: str = Field("curious viewers", max_length=limits.AUDIENCE_CHARS)
    platform: PlatformName = "tiktok"
    style: ProjectStyle = ProjectStyle()


class ProjectUpdate(Strict):
    topic: Topic | None = None
    name: str | None = Field(None, min_length=1, max_length=120)
    target_audience: str | None = Field(None, max_length=limits.AUDIENCE_CHARS)
    platform: PlatformName | None = None
    style: ProjectStyle | None = None
