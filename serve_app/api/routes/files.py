"""A finished task's files (streamed, with HTTP range requests so players seek); re-rendering an edited plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Security
from fastapi.responses import FileResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from actors.artifacts import ArtifactStore
from actors.jobs import State
from pipeline.errors import InvalidInputError
from pipeline.plan import RenderPlan
from serve_app.api.deps import CurrentUser, Service, bearer, query_token
from serve_app.api.responses import Submitted
from serve_app.api.routes.tasks import submitted
from serve_app.api.schemas import RerenderSubmit
from serve_app.api.services import API, NotFound

router = APIRouter(prefix=f"{API}/tasks", tags=["files"])
MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".json": "application/json",
    ".wav": "audio/wav",
}


FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    206: {"description": "the requested byte range"},
    401: {"description": "no valid signed link and no valid token"},
    404: {"description": "no such file"},
}


# One route per method, so each has its own operation id in the OpenAPI document.
@router.get("/{task_id}/files/{name}", response_class=FileResponse, responses=FILE_RESPONSES)
@router.head("/{task_id}/files/{name}", response_class=FileResponse, responses=FILE_RESPONSES)
def download(
    task_id: str,
    name: str,
    service: Service,
    header: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    token: Annotated[str | None, Security(query_token)] = None,
    expires: Annotated[int | None, Query(ge=0, le=2**40)] = None,
    sig: Annotated[str | None, Query(max_length=64, pattern="^[0-9a-f]+$")] = None,
) -> Response:
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
    if name == "plan":  # its media paths read relative to the data folder; a re-render resolves them again
        shown = service.shown(file.read_text(encoding="utf-8"))
        disposition = {"Content-Disposition": f'inline; filename="{saved_as}"'}
        return Response(shown, media_type="application/json", headers=disposition)
    return FileResponse(file, media_type=media_type, filename=saved_as, content_disposition_type="inline")


def _resolved(plan: Any, data_dir: Path) -> Any:
    """The plan as posted, its relative media paths (as the plan file shows them) made absolute again."""
    if not isinstance(plan, dict):
        return plan

    def absolute(item: Any) -> Any:
        path = item.get("path") if isinstance(item, dict) else None
        if isinstance(path, str) and path and not path.startswith("/"):
            return {**item, "path": str(data_dir / path)}
        return item

    out = dict(plan)
    for key in ("layers", "audio"):
        if isinstance(out.get(key), list):
            out[key] = [absolute(item) for item in out[key]]
    return out


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
def rerender(task_id: str, body: RerenderSubmit, user: CurrentUser, service: Service) -> Submitted:
    """Render an edited copy of a finished task's RenderPlan (GET its `plan` file, change it, post it here)."""
    job = service.task(user, task_id)
    plan_file = service.split_result(job)[1].get("plan") if job.state == State.SUCCESS else None
    if plan_file is None:
        raise HTTPException(409, "this task has no finished render plan to edit")
    edited = RenderPlan.from_dict(_resolved(body.plan, service.data_dir))
    _check_media(edited, RenderPlan.load(plan_file))
    stored = ArtifactStore(Path(service.config.data_dir) / "artifacts").put_bytes(
        json.dumps(edited.to_dict()).encode(), ".plan.json"
    )
    project_id = int(job.project) if job.project.isdigit() else None
    new = service.submit(user, "render_plan", {"plan": str(stored)}, body.priority, project_id)
    return submitted(new, project_id)
