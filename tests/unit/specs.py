"""Task specs and job records for decision tests, built in memory (the registry is not touched)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from actors.jobs import Job
from actors.registry import StageContext, TaskSpec


class NoParams(BaseModel):
    pass


def _run(p: NoParams, ctx: StageContext) -> dict[str, Any]:
    return {}


def spec(name: str = "t_render", queue: str = "video", **policy: Any) -> TaskSpec:
    return TaskSpec(name, queue, NoParams, _run, **policy)


def job(task_type: str = "t_render", stage_attempts: tuple[int, ...] = (1,), **fields: Any) -> Job:
    """A job in its current stage (the last of `stage_attempts`), which has run that many times."""
    return Job(
        id="j1",
        owner="ann",
        task_type=task_type,
        queue="video",
        priority=5,
        params={},
        stage_index=len(stage_attempts) - 1,
        stage_attempts=list(stage_attempts),
        **fields,
    )
