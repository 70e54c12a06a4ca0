"""Admin controls (admin role only): cleanup, requeue, scale, the dead-letter queue."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request

from actors.job_view import dead_letter
from actors.queues import QUEUES
from serve_app.api.deps import AdminUser, Service
from serve_app.api.responses import Count, DeadList, ScaleResult, TaskStatus, UserLimits
from serve_app.api.services import API, NotFound, ReelsService
from serve_app.users import User

router = APIRouter(prefix=f"{API}/tasks/admin", tags=["admin"])
QueueName = Annotated[str, Query(pattern="^(" + "|".join(QUEUES) + ")$", description="content, speech, video, gpu …")]


@router.post("/cleanup", response_model=Count)
def cleanup(admin: AdminUser, service: Service) -> Count:
    """Remove leftover work folders; requeue tasks running past their hard time limit."""
    out = service.cleanup()
    return Count(
        count=out["removed_work_dirs"] + out["requeued_stuck"],
        detail=f"removed {out['removed_work_dirs']} work folder(s), requeued {out['requeued_stuck']} stuck task(s)",
    )


@router.post("/requeue", response_model=Count)
def requeue(
    admin: AdminUser, service: Service, max_age_hours: Annotated[float, Query(gt=0, le=24 * 365)] = 24
) -> Count:
    """Requeue dead-lettered tasks that failed within the last `max_age_hours`."""
    n = service.requeue_failed(max_age_hours)
    return Count(count=n, detail=f"requeued {n} failed task(s) from the last {max_age_hours:g} h")


@router.put("/users/{user_id}/limits", response_model=UserLimits)
def set_user_limits(
    user_id: str,
    admin: AdminUser,
    service: Service,
    max_queued: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    max_render_minutes: Annotated[float | None, Query(gt=0, le=1_000_000)] = None,
    max_running: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    reset: Annotated[bool, Query(description="back to the server's defaults")] = False,
) -> UserLimits:
    """Set one user's quota: unfinished jobs and minutes of reel queued at once (429 over either), and jobs running
    at once (the next wait their turn; a raise lets waiting ones start now)."""
    if user_id not in {u["user"] for u in service.users.list()}:
        raise NotFound("user")
    if reset:
        service.users.set_limits(user_id, {"max_queued": None, "max_render_minutes": None, "max_running": None})
    given = {"max_queued": max_queued, "max_render_minutes": max_render_minutes, "max_running": max_running}
    service.users.set_limits(user_id, {k: v for k, v in given.items() if v is not None})
    quota = service.quota(User(user_id, "user"))
    assert quota is not None
    service.store.set_running_cap(user_id, quota.max_running)  # a raise lets held jobs start now
    return _limits(service, user_id)


@router.get("/users/{user_id}/limits", response_model=UserLimits)
def user_limits(user_id: str, admin: AdminUser, service: Service) -> UserLimits:
    """One user's quota as it applies now, and what they hold of it."""
    return _limits(service, user_id)


def _limits(service: ReelsService, user_id: str) -> UserLimits:
    quota = service.quota(User(user_id, "user"))
    assert quota is not None
    return UserLimits(
        user=user_id,
        max_queued=quota.max_queued,
        max_render_minutes=quota.max_render_minutes,
        max_running=quota.max_running,
        **service.store.usage(user_id),
    )


@router.post("/scale", response_model=ScaleResult)
def scale(
    request: Request,
    admin: AdminUser,
    service: Service,
    queue_name: QueueName,
    desired_workers: Annotated[int, Query(ge=0, le=1000)],
) -> ScaleResult:
    """Set how many tasks of the queue may run at once (the Dispatcher applies it within a second) and ask the
    autoscaler for nodes that serve that many."""
    service.store.set_cap(queue_name, desired_workers)
    caps = {**service.caps(), queue_name: desired_workers}
    scaler = request.app.state.scaler
    outcome = scaler(caps) if scaler is not None else "not connected to a Ray cluster: slots changed only"
    return ScaleResult(queue=queue_name, desired_workers=desired_workers, caps=caps, autoscaler=outcome)


@router.get("/dlq", response_model=DeadList)
def dlq(
    admin: AdminUser,
    service: Service,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeadList:
    jobs, total = service.dead(offset, limit)
    dead = [dead_letter(j).model_copy(update={"error": service.shown(j.error)}) for j in jobs]
    return DeadList(dead=dead, total=total)


@router.get("/dlq/{task_id}", response_model=TaskStatus)
def dlq_inspect(task_id: str, admin: AdminUser, service: Service) -> TaskStatus:
    """The dead task's status and error; its traceback, owner and params are in `result`."""
    job = service.dead_task(task_id)
    view = service.public(job)
    params = json.loads(service.shown(json.dumps(job.params)))
    found = {"traceback": service.shown(job.traceback), "owner": job.owner, "params": params}
    return view.model_copy(update={"result": {**view.result, **found}})


@router.post("/dlq/{task_id}/requeue", response_model=Count)
def dlq_requeue(task_id: str, admin: AdminUser, service: Service) -> Count:
    service.dead_task(task_id)
    ok = service.store.requeue_dead(task_id)
    return Count(count=int(ok), detail="requeued" if ok else "already requeued")


@router.delete("/dlq", response_model=Count)
def dlq_purge(admin: AdminUser, service: Service) -> Count:
    """Empty the dead-letter queue (the task records stay, FAILURE)."""
    n = service.store.purge_dlq()
    return Count(count=n, detail=f"purged {n} task(s)")
