"""Job records and their states, as stored in Redis (actors/job_view.py is how they are shown)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class State(StrEnum):
    PENDING = "PENDING"
    STARTED = "STARTED"
    PROGRESS = "PROGRESS"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"


TERMINAL = frozenset({State.SUCCESS, State.FAILURE, State.REVOKED})
RUNNING = frozenset({State.STARTED, State.PROGRESS})


@dataclass
class Job:
    id: str
    owner: str
    task_type: str
    queue: str
    priority: int
    params: dict[str, Any]
    state: State = State.PENDING
    progress: float = 0.0
    status: str = "queued"
    stage: str = ""
    attempts: int = 0
    project: str = ""
    parent: str = ""
    created: float = field(default_factory=time.time)
    started: float = 0.0
    finished: float = 0.0
    execution_time: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    error_type: str = ""
    traceback: str = ""
    token: str = ""  # the current attempt's id: only that attempt may report progress or finish the job
    cancel_requested: bool = False
    stage_index: int = 0  # a workflow's current stage
    stage_attempts: list[int] = field(default_factory=list)  # attempts of each stage so far (counted at claim)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def to_redis(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in asdict(self).items():
            if isinstance(v, dict | list):
                out[k] = json.dumps(v)
            elif isinstance(v, bool):
                out[k] = "1" if v else "0"
            else:
                out[k] = str(v)
        return out

    @classmethod
    def from_redis(cls, raw: dict[str, str]) -> Job:
        def f(name: str, default: str = "0") -> str:
            return raw.get(name, default)

        return cls(
            id=raw["id"],
            owner=raw["owner"],
            task_type=raw["task_type"],
            queue=raw["queue"],
            priority=int(f("priority")),
            params=json.loads(f("params", "{}")),
            state=State(f("state", "PENDING")),
            progress=float(f("progress")),
            status=f("status", ""),
            stage=f("stage", ""),
            attempts=int(f("attempts")),
            project=f("project", ""),
            parent=f("parent", ""),
            created=float(f("created")),
            started=float(f("started")),
            finished=float(f("finished")),
            execution_time=float(f("execution_time")),
            result=json.loads(f("result", "{}")),
            error=f("error", ""),
            error_type=f("error_type", ""),
            traceback=f("traceback", ""),
            token=f("token", ""),
            cancel_requested=f("cancel_requested") == "1",
            stage_index=int(f("stage_index")),
            stage_attempts=[int(n) for n in json.loads(f("stage_attempts", "[]") or "[]")],
        )

    @property
    def attempts_this_stage(self) -> int:
        """What a retry budget counts: the attempts of the stage running now."""
        return self.stage_attempts[self.stage_index] if self.stage_index < len(self.stage_attempts) else 0

    @property
    def retried(self) -> bool:
        """Whether any stage needed more than one attempt."""
        return any(n > 1 for n in self.stage_attempts)
