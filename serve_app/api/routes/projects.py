"""Projects: a saved topic, audience, platform and style that tasks refer to by `project_id`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from serve_app.api.deps import CurrentUser, Service
from serve_app.api.responses import ProjectList, ProjectPublic
from serve_app.api.schemas import ProjectCreate, ProjectUpdate
from serve_app.api.services import API, NotFound

router = APIRouter(prefix=f"{API}/projects", tags=["projects"])


def _public(record: dict[str, Any]) -> ProjectPublic:
    return ProjectPublic(**{**record, "name": record.get("name") or record["topic"]})


@router.post("", status_code=201, response_model=ProjectPublic)
def create(body: ProjectCreate, user: CurrentUser, service: Service) -> ProjectPublic:
    if body.style.voice_id:
        service.check_voice(body.style.voice_id)
    return _public(service.projects.create(user.id, body.model_dump(mode="json")))


@router.get("", response_model=ProjectList)
def list_projects(
    user: CurrentUser,
    service: Service,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ProjectList:
    total, items = service.projects.list(user.id, offset, limit)
    return ProjectList(projects=[_public(p) for p in items], total=total, offset=offset, limit=limit)


def _get(service: Any, owner: str, project_id: int) -> dict[str, Any]:
    record = service.projects.get(owner, project_id) if 0 < project_id < 2**53 else None
    if record is None:
        raise NotFound("project")
    return dict(record)


@router.get("/{project_id}", response_model=ProjectPublic)
def read(project_id: int, user: CurrentUser, service: Service) -> ProjectPublic:
    return _public(_get(service, user.id, project_id))


@router.put("/{project_id}", response_model=ProjectPublic)
@router.patch("/{project_id}", response_model=ProjectPublic, include_in_schema=False)
def update(project_id: int, body: ProjectUpdate, user: CurrentUser, service: Service) -> ProjectPublic:
    """Change the fields you send; the others stay."""
    _get(service, user.id, project_id)
    changes = {k: v for k, v in body.model_dump(mode="json", exclude_unset=True).items() if v is not None}
    if changes.get("style", {}).get("voice_id"):
        service.check_voice(changes["style"]["voice_id"])
    record = service.projects.update(user.id, project_id, changes)
    if record is None:
        raise NotFound("project")
    return _public(record)


@router.delete("/{project_id}", status_code=204, response_class=Response)
def delete(project_id: int, user: CurrentUser, service: Service) -> Response:
    """Tasks made from the project keep their files; only the project goes."""
    _get(service, user.id, project_id)
    service.projects.delete(user.id, project_id)
    return Response(status_code=204)
