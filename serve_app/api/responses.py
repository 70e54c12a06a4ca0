"""Response shapes: every route returns one of these, so the OpenAPI document shows what each answer holds."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from actors.job_view import DeadLetter, JobView
from pipeline.platforms import PlatformName
from serve_app.api.schemas import ProjectStyle

Condition = Literal["healthy", "warning", "critical"]


class Submitted(BaseModel):
    task_id: str
    state: str = Field(description="PENDING: queued")
    status: str = Field(description="what the task is doing now, in words")
    task_type: str = Field(description="generate_content, generate_video, workflow, render_plan …")
    queue: str = Field(description="the queue it waits in: content, speech, video or gpu")
    priority: int
    project_id: int | None = Field(None, description="the project it was made from, if any")
    status_url: str = Field(description="where to poll its status")


class BatchSubmitted(BaseModel):
    batch_id: str
    total: int = Field(description="tasks queued")
    task_ids: list[str] = Field(description="in the order of the request's items")
    status_url: str = Field(description="where to poll the batch's status")


class BatchStatus(BaseModel):
    batch_id: str
    total: int = Field(description="tasks in the batch")
    states: dict[str, int] = Field(description="how many tasks are in each state, by state name")
    progress: int = Field(description="the tasks' mean progress, 0–100")
    done: bool = Field(description="every task has ended (SUCCESS, FAILURE or REVOKED)")
    task_ids: list[str]


class TaskStatus(JobView):
    """A task's status: its public view (actors/job_view.py), with server paths left out of `status` and `error`,
    and its output files as links."""

    project_id: int | None = Field(description="the project the task was made from, if any")
    created: float = Field(description="when it was submitted, in Unix seconds")
    finished: float | None = Field(description="when it ended, in Unix seconds; null until it does")
    result: dict[str, Any] = Field(description="the task's output; files appear under `files` as links")
    files: dict[str, str] = Field(description="signed download links by name (video, srt, vtt …), valid for an hour")


class TaskList(BaseModel):
    tasks: list[TaskStatus] = Field(description="newest first")
    offset: int
    limit: int
    next_offset: int | None = Field(description="the offset of the next page; null at the end")


class CancelResult(BaseModel):
    task_id: str
    outcome: str = Field(
        description="REVOKED (it was waiting), CANCELLING (it runs; stopped within a tick), or the "
        "state it had already ended in"
    )


class QueueHealth(BaseModel):
    pending: int = Field(description="tasks waiting for a slot")
    active: int = Field(description="tasks running now")
    completed: int = Field(description="tasks that succeeded, since the counters began")
    failed: int = Field(description="tasks that failed for good, since the counters began")
    slots: int = Field(description="tasks of this queue that may run at once")
    health: Condition = Field(
        description="critical: work waits with no slot, or over 20% of tasks fail; warning: over 5 tasks wait per "
        "slot, or over 5% fail; else healthy (failure rates count once 5 tasks have ended)"
    )


class QueueStats(BaseModel):
    queues: dict[str, QueueHealth] = Field(description="by queue name: content, speech, video, gpu")
    dispatcher: Literal["up", "down"] = Field(description="up: the Dispatcher reported within 10 s")


class TypePerformance(BaseModel):
    succeeded: int
    failed: int
    p50_s: float = Field(description="median run time of the successes, in seconds")
    p95_s: float = Field(description="95th-percentile run time of the successes, in seconds")


class Performance(BaseModel):
    window_s: float = Field(description="the window looked at, in seconds, ending now")
    finished: int = Field(description="tasks that ended (succeeded or failed) in the window")
    throughput_per_minute: float = Field(description="finished tasks per minute over the window")
    success_rate: float | None = Field(description="succeeded / finished; null when none finished")
    retry_success_rate: float | None = Field(
        description="of the tasks that needed a retry, the share that succeeded; null when none did"
    )
    task_types: dict[str, TypePerformance] = Field(description="by task type")


class ProjectPublic(BaseModel):
    id: int = Field(description="numbered per user: 1, 2, 3 …")
    name: str = Field(description="its topic unless named")
    topic: str
    target_audience: str
    platform: PlatformName
    style: ProjectStyle
    created: float = Field(description="Unix seconds")
    updated: float = Field(description="Unix seconds")


class ProjectList(BaseModel):
    projects: list[ProjectPublic]
    total: int = Field(description="your projects in all")
    offset: int
    limit: int


class DeadList(BaseModel):
    dead: list[DeadLetter] = Field(description="a page of the dead-letter queue, oldest first")
    total: int = Field(description="dead letters in all")


class Count(BaseModel):
    count: int = Field(description="how many things the action changed")
    detail: str = Field(description="what it did, in words")


class ScaleResult(BaseModel):
    queue: str
    desired_workers: int = Field(description="the queue's slots now")
    caps: dict[str, int] = Field(description="every queue's slots")
    autoscaler: str = Field(description="what the Ray autoscaler was asked for, or why it was not")


class Voice(BaseModel):
    id: str = Field(description="what a submission's voice_id takes")
    name: str
    language: str
    engine: str


class Platform(BaseModel):
    width: int
    height: int
    fps: int
    max_duration_s: float = Field(description="the longest reel the platform takes")


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    redis: bool = Field(description="Redis answers a ping")
    dispatcher: Literal["up", "down", "unknown"] = Field(
        description="up: the Dispatcher reported within 10 s; unknown: Redis does not answer"
    )


class UserLimits(BaseModel):
    user: str
    max_queued: int = Field(description="unfinished jobs (waiting, retrying or running) the user may have at once")
    max_render_minutes: float = Field(description="minutes of reel the user's unfinished jobs may render")
    max_running: int = Field(description="jobs the user may have running at once; the next ones wait their turn")
    unfinished: int = Field(description="the user's unfinished jobs now")
    render_minutes: float = Field(description="minutes of reel those jobs will render")
    running: int = Field(description="the user's jobs running now")
    held: int = Field(description="jobs whose turn came while the user was at max_running; they wait, in order")
