"""Request and response shapes: the seed's fields, validated strictly (unknown fields are refused)."""

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


class Submitted(BaseModel):
    task_id: str
    state: str
    status: str
    task_type: str
    queue: str
    priority: int
    project_id: int | None = None
    status_url: str


class BatchSubmitted(BaseModel):
    batch_id: str
    total: int
    task_ids: list[str]
    status_url: str


class BatchStatus(BaseModel):
    batch_id: str
    total: int
    states: dict[str, int]
    progress: int
    done: bool
    task_ids: list[str]


class TaskStatus(BaseModel):
    task_id: str
    state: str
    progress: int
    status: str
    execution_time: float
    task_type: str
    queue: str
    priority: int
    attempts: int = Field(description="attempts in all, every stage's")
    stage_attempts: list[int] = Field([], description="attempts of each stage so far, in stage order")
    stage: str
    project_id: int | None
    created: float
    finished: float | None
    error: str | None
    result: dict[str, Any] = Field(description="the task's output; files appear under `files` as links")
    files: dict[str, str] = Field(description="signed download links, valid for an hour")


class TaskList(BaseModel):
    tasks: list[TaskStatus]
    offset: int
    limit: int
    next_offset: int | None


class CancelResult(BaseModel):
    task_id: str
    outcome: str


class QueueHealth(BaseModel):
    pending: int
    active: int
    completed: int
    failed: int
    slots: int
    health: Literal["healthy", "warning", "critical"]


class QueueStats(BaseModel):
    queues: dict[str, QueueHealth]
    dispatcher: Literal["up", "down"]


class TypePerformance(BaseModel):
    succeeded: int
    failed: int
    p50_s: float
    p95_s: float


class Performance(BaseModel):
    window_s: float
    finished: int
    throughput_per_minute: float
    success_rate: float | None
    retry_success_rate: float | None
    task_types: dict[str, TypePerformance]


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


class ProjectPublic(BaseModel):
    id: int
    name: str
    topic: str
    target_audience: str
    platform: PlatformName
    style: ProjectStyle
    created: float
    updated: float


class ProjectList(BaseModel):
    projects: list[ProjectPublic]
    total: int
    offset: int
    limit: int


class DeadTask(BaseModel):
    task_id: str
    owner: str
    task_type: str
    attempts: int
    error: str
    finished: float


class DeadList(BaseModel):
    dead: list[DeadTask]
    total: int


class Count(BaseModel):
    count: int
    detail: str


class ScaleResult(BaseModel):
    queue: str
    desired_workers: int
    caps: dict[str, int]
    autoscaler: str


class Voice(BaseModel):
    id: str
    name: str
    language: str
    engine: str


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    redis: bool
    dispatcher: Literal["up", "down", "unknown"]


class UserLimits(BaseModel):
    user: str
    max_queued: int = Field(description="unfinished jobs (waiting, retrying or running) the user may have at once")
    max_render_minutes: float = Field(description="minutes of reel the user's unfinished jobs may render")
    max_running: int = Field(description="jobs the user may have running at once; the next ones wait their turn")
    unfinished: int = Field(description="the user's unfinished jobs now")
    render_minutes: float = Field(description="minutes of reel those jobs will render")
    running: int = Field(description="the user's jobs running now")
    held: int = Field(description="jobs whose turn came while the user was at max_running; they wait, in order")
