"""Task endpoints: submit content, video, workflow and batch; status, cancel, list; queue and performance stats.

Plain `def` routes: FastAPI runs them in its thread pool, so a slow Redis call never stalls the event loop that
the live streams share."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from actors.jobs import Job, State
from serve_app.api.deps import CurrentUser, Service
from serve_app.api.responses import (
    BatchStatus,
    BatchSubmitted,
    CancelResult,
    Performance,
    QueueStats,
    Submitted,
    TaskList,
    TaskStatus,
)
from serve_app.api.schemas import BatchSubmit, ContentSubmit, VideoSubmit, WorkflowSubmit
from serve_app.api.services import API, NotFound, ReelsService
from serve_app.users import User

router = APIRouter(prefix=f"{API}/tasks", tags=["tasks"])
BATCH_TASK = {"content": "generate_content", "video": "generate_video", "workflow": "workflow"}


def submitted(job: Job, project_id: int | None) -> Submitted:
    return Submitted(
        task_id=job.id,
        state=job.state.value,
        status=job.status,
        task_type=job.task_type,
        queue=job.queue,
        priority=job.priority,
        project_id=project_id,
        status_url=f"{API}/tasks/status/{job.id}",
    )


def _submit(
    service: ReelsService, user: User, task_type: str, body: Any, given: dict[str, Any], advanced: bool = False
) -> Submitted:
    settings, project_id = service.settings_for(user, body.project_id, body.topic, given)
    params = service.params_for(task_type, settings | ({"advanced": True} if advanced else {}))
    return submitted(service.submit(user, task_type, params, body.priority, project_id), project_id)


@router.post("/submit/content", status_code=202, response_model=Submitted)
def submit_content(body: ContentSubmit, user: CurrentUser, service: Service) -> Submitted:
    """Script generation (or hashtags, quality analysis, hook variations with `task`) on the content queue."""
    given = body.model_dump(include={"target_audience", "tone", "platform", "target_seconds"})
    return _submit(service, user, body.task, body, given)


@router.post("/submit/video", status_code=202, response_model=Submitted)
def submit_video(body: VideoSubmit, user: CurrentUser, service: Service) -> Submitted:
    """A whole reel on the video queue; `advanced` adds effects and music; `quality: ultra` renders the 4K master."""
    task = "process_ultra_quality_video" if body.quality == "ultra" else "generate_video"
    return _submit(service, user, task, body, _reel_settings(body), advanced=body.advanced)


@router.post("/submit/workflow", status_code=202, response_model=Submitted)
def submit_workflow(body: WorkflowSubmit, user: CurrentUser, service: Service) -> Submitted:
    """Content → speech → video, each stage on its own queue, as one task."""
    return _submit(service, user, "workflow", body, _reel_settings(body))


def _reel_settings(body: WorkflowSubmit) -> dict[str, Any]:
    """`video_settings`, with the submission's top-level target_audience, platform and voice_id over them where
    given (both places are accepted; the top level wins)."""
    top = body.model_dump(include={"target_audience", "platform", "voice_id"}, exclude_none=True)
    return body.video_settings.model_dump() | top


@router.post("/submit/batch", status_code=202, response_model=BatchSubmitted)
def submit_batch(body: BatchSubmit, user: CurrentUser, service: Service) -> BatchSubmitted:
    """Many projects in one request: every item is checked before any is queued."""
    task_type = BATCH_TASK[body.task_type]
    items = []
    for i, item in enumerate(body.items):
        try:
            settings, _ = service.settings_for(user, item.project_id, item.topic, item.settings.model_dump())
        except NotFound:
            raise NotFound(f"items[{i}]: project") from None
        items.append(service.params_for(task_type, settings))
    service.check_priority(user, body.priority)
    service.take_budget(user, len(items))
    batch_id, jobs = service.jobs.submit_batch(user.id, task_type, items, body.priority, quota=service.quota(user))
    return BatchSubmitted(
        batch_id=batch_id,
        total=len(jobs),
        task_ids=[j.id for j in jobs],
        status_url=f"{API}/tasks/batch/{batch_id}",
    )


@router.get("/batch/{batch_id}", response_model=BatchStatus)
def batch_status(batch_id: str, user: CurrentUser, service: Service) -> BatchStatus:
    owner = service.jobs.batch_owner(batch_id)
    if owner is None or (owner != user.id and not user.is_admin):
        raise NotFound("batch")
    return BatchStatus(**service.jobs.batch_status(batch_id))


@router.get("/status/{task_id}", response_model=TaskStatus)
def status(task_id: str, user: CurrentUser, service: Service) -> TaskStatus:
    """State, progress 0–100, status text, execution time; result and signed file links when done."""
    return service.public(service.task(user, task_id))


@router.post("/cancel/{task_id}", response_model=CancelResult)
def cancel(task_id: str, user: CurrentUser, service: Service) -> CancelResult:
    """REVOKED at once when queued; CANCELLING while it runs (the Dispatcher stops it within a tick)."""
    job = service.task(user, task_id)
    return CancelResult(task_id=job.id, outcome=service.jobs.cancel(job.id))


@router.get("", response_model=TaskList)
def list_tasks(
    user: CurrentUser,
    service: Service,
    state: State | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TaskList:
    """Your tasks, newest first; `next_offset` pages on (null at the end)."""
    jobs, next_offset = service.list_tasks(user, state, offset, limit)
    return TaskList(tasks=[service.public(j) for j in jobs], offset=offset, limit=limit, next_offset=next_offset)


@router.get("/stats/queues", response_model=QueueStats)
def queue_stats(user: CurrentUser, service: Service) -> QueueStats:
    """Per queue: pending, active, completed, failed, slots and health; and whether the Dispatcher reports."""
    return service.queue_stats()


@router.get("/stats/performance", response_model=Performance)
def performance(
    user: CurrentUser, service: Service, window_hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24
) -> Performance:
    """Throughput, success and retry-success rates, p50/p95 durations per task type over the window."""
    return service.performance(window_hours * 3600)
