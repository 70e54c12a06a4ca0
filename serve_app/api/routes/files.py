"""A finished task's files (streamed, with HTTP range requests so players seek); re-rendering an edited plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Security
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials

from actors.artifacts import ArtifactStore
from actors.jobs import State
from pipeline.errors import InvalidInputError
from pipeline.plan import RenderPlan
from serve_app.api.deps import CurrentUser, Service, bearer, query_token
from serve_app.api.routes.tasks import submitted
from serve_app.api.schemas import RerenderSubmit, Submitted
from serve_app.api.services import API, NotFound

router = APIRouter(prefix=f"{API}/tasks", tags=["files"])
MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".json": "application/json",
    ".wav": "audio/wav",
}


@router.api_route(
    "/{task_id}/files/{name}",
    methods=["GET", "HEAD"],
    response_class=FileResponse,
    responses={206: {"description": "the requested byte range"}, 404: {"description": "no such file"}},
)
async def download(
    task_id: str,
    name: str,
    service: Service,
    header: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    token: Annotated[str | None, Security(query_token)] = None,
    expires: Annotated[int | None, Query(ge=0, le=2**40)] = None,
    sig: Annotated[str | None, Query(max_length=64, pattern="^[0-9a-f]+$")] = None,
) -> FileResponse:
    """A file from the task's `files` (video, srt, vtt, metadata, plan …), with the signed link from its status or
    with your token. Honours `Range` (206 Partial Content), so players can seek."""
    path = f"{API}/tasks/{task_id}/files/{name}"
    if not (expires is not None and sig is not None and service.links.verify(path, expires, sig)):
        given = header.credentials if header is not None else token
        user = service.users.authenticate(given) if given else None
        if user is None:
            raise HTTPException(401, "send a token, or use the signed link from the task's status")
        service.task(user, task_id)
    job = service.store.get(task_id) if len(task_id) <= 64 else None
    files = service.split_result(job)[1] if job is not None and job.state == State.SUCCESS else {}
    file = files.get(name)
    if file is None or not file.is_file():
        raise NotFound("file")
    media_type = MEDIA_TYPES.get(file.suffix, "application/octet-stream")
    saved_as = f"{task_id[:8]}-{file.name}"
    return FileResponse(file, media_type=media_type, filename=saved_as, content_disposition_type="inline")


def _check_media(edited: RenderPlan, original: RenderPlan) -> None:
    """An edited plan may restyle, retime and reorder, but only use the media its task already had."""
    allowed = {layer.path for layer in original.layers} | {a.path for a in original.audio}
    allowed |= {original.captions.style.font}
    used = [(f"plan.layers[{i}].path", layer.path) for i, layer in enumerate(edited.layers) if layer.path]
    used += [(f"plan.audio[{i}].path", a.path) for i, a in enumerate(edited.audio)]
    used += [("plan.captions.style.font", edited.captions.style.font)]
    for field, value in used:
        if value not in allowed:
            raise InvalidInputError(field, "an edited plan can only use this task's own media files")


@router.post("/{task_id}/rerender", status_code=202, response_model=Submitted)
async def rerender(task_id: str, body: RerenderSubmit, user: CurrentUser, service: Service) -> Submitted:
    """Render an edited copy of a finished task's RenderPlan (GET its `plan` file, change it, post it here)."""
    job = service.task(user, task_id)
    plan_file = service.split_result(job)[1].get("plan") if job.state == State.SUCCESS else None
    if plan_file is None:
        raise HTTPException(409, "this task has no finished render plan to edit")
    edited = RenderPlan.from_dict(body.plan)
    _check_media(edited, RenderPlan.load(plan_file))
    stored = ArtifactStore(Path(service.config.data_dir) / "artifacts").put_bytes(
        json.dumps(edited.to_dict()).encode(), ".plan.json"
    )
    project_id = int(job.project) if job.project.isdigit() else None
    new = service.submit(user, "render_plan", {"plan": str(stored)}, body.priority, project_id)
    return submitted(new, project_id)
