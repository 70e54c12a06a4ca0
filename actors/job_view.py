"""The public view of a job, defined once: the progress events, the CLI, the HTTP status and the console all show a
job through these models, so a field has one name and one meaning everywhere."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from actors.jobs import RUNNING, Job


class JobEvent(BaseModel):
    """What a progress event on the owner's channel carries; the WebSocket and SSE streams forward it as it is."""

    task_id: str
    state: str = Field(description="PENDING, STARTED, PROGRESS, RETRY, SUCCESS, FAILURE or REVOKED")
    progress: int = Field(description="0–100, over all the task's stages")
    status: str = Field(description="what the task is doing now, in words")
    stage: str = Field(description="the stage running now (a workflow's generate_content, generate_speech …)")
    execution_time: float = Field(description="seconds: so far while running, else the last attempt's run time")
    task_type: str


class JobView(JobEvent):
    """A job as its owner may see it (no params, owner, token or traceback)."""

    queue: str
    priority: int
    attempts: int = Field(description="attempts in all, every stage's")
    stage_attempts: list[int] = Field([], description="attempts of each stage so far, in stage order")
    result: dict[str, Any] = Field(description="the task's output")
    error: str | None = Field(description="why the task failed; null unless it did")


def execution_time(job: Job, now: float | None = None) -> float:
    """With `now`, a running job's time so far; otherwise (or once it stopped) the time its record holds."""
    if now is not None and job.state in RUNNING and job.started:
        return round(now - job.started, 3)
    return round(job.execution_time, 3)


def job_event(job: Job, now: float | None = None) -> JobEvent:
    return JobEvent(
        task_id=job.id,
        state=job.state.value,
        progress=round(job.progress),
        status=job.status,
        stage=job.stage,
        execution_time=execution_time(job, now),
        task_type=job.task_type,
    )


def job_view(job: Job, now: float | None = None) -> JobView:
    """The job's public view; `now` (e.g. time.time()) makes a running job's execution_time its time so far."""
    return JobView(
        **job_event(job, now).model_dump(),
        queue=job.queue,
        priority=job.priority,
        attempts=job.attempts,
        stage_attempts=job.stage_attempts,
        result=job.result,
        error=job.error or None,
    )


class DeadLetter(BaseModel):
    """A dead-lettered job, as the dead-letter listings show it."""

    task_id: str
    owner: str
    task_type: str
    attempts: int = Field(description="attempts in all, every stage's")
    error: str = Field(description="the last attempt's error")
    finished: float = Field(description="when it failed, in Unix seconds")


def dead_letter(job: Job) -> DeadLetter:
    return DeadLetter(
        task_id=job.id,
        owner=job.owner,
        task_type=job.task_type,
        attempts=job.attempts,
        error=job.error,
        finished=job.finished,
    )
