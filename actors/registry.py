"""Task types: which queue a stage runs on, how its params are validated, its retry policy and time limits."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from actors.artifacts import ArtifactStore
from actors.jobs import Job
from actors.queues import QUEUES
from pipeline.errors import InvalidInputError
from pipeline.progress import Progress
from pipeline.providers import ProviderConfig

BUILTIN_MODULES = ("actors.tasks",)


@dataclass(frozen=True)
class RuntimeConfig:
    """Plain values every worker needs; built once by cluster/ from Settings."""

    redis_url: str
    data_dir: str
    providers: ProviderConfig = field(default_factory=ProviderConfig)
    render_segments: int = 1
    gpu_segments: int = 4  # a 4K render on the GPU pool encodes this many segments at once on the node's CPUs
    allow_gpu_on_cpu: bool = False
    progress_interval_s: float = 0.25
    backoff_scale: float = 1.0  # tests shrink the 60/120/240 s backoff
    task_modules: tuple[str, ...] = ()  # extra modules that register task types (tests add fault tasks)


@dataclass
class StageContext:
    job: Job
    progress: Progress
    work_dir: Path
    artifacts: ArtifactStore
    config: RuntimeConfig
    inputs: dict[str, Any] = field(default_factory=dict)  # results of the workflow's earlier stages


@dataclass(frozen=True)
class TaskSpec:
    name: str
    queue: str
    params: type[BaseModel]
    run: Callable[[Any, StageContext], dict[str, Any]] | None = None
    max_retries: int = 3
    backoff_s: float = 60.0
    soft_limit_s: float = 1800.0
    hard_limit_s: float = 3600.0
    num_gpus: float = 0.0
    stages: tuple[str, ...] = ()  # a workflow: these task types run in order, each on its own queue
    weight: float = 1.0  # as a workflow's stage, its share of the job's progress relative to the others'

    def __post_init__(self) -> None:
        if self.queue not in QUEUES:
            raise ValueError(f"{self.name}: unknown queue {self.queue!r}")
        if (self.run is None) == (not self.stages):
            raise ValueError(f"{self.name}: give either run or stages")

    def stage_specs(self) -> list[TaskSpec]:
        return [get(s) for s in self.stages] if self.stages else [self]

    def stage_span(self, k: int) -> tuple[float, float]:
        """The part of the job's progress (0..1) that stage `k` fills."""
        weights = [s.weight for s in self.stage_specs()]
        total = sum(weights)
        return sum(weights[:k]) / total, sum(weights[: k + 1]) / total


_REGISTRY: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    _REGISTRY[spec.name] = spec
    return spec


def load(modules: tuple[str, ...] = ()) -> dict[str, TaskSpec]:
    for name in (*BUILTIN_MODULES, *modules):
        importlib.import_module(name)
    return _REGISTRY


def get(name: str) -> TaskSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        choices = ", ".join(sorted(_REGISTRY))
        raise InvalidInputError("task_type", f"unknown task type {name!r} (choose from {choices})") from None


def validate(task_type: str, params: dict[str, Any]) -> tuple[TaskSpec, dict[str, Any]]:
    """Refuse bad params before anything is queued; the error names the field."""
    spec = get(task_type)
    try:
        model = spec.params.model_validate(params)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "params"
        raise InvalidInputError(f"params.{where}", err["msg"]) from None
    return spec, model.model_dump(mode="json")
