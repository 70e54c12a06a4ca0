"""How much of the system one user may hold: unfinished jobs and minutes of reel still to render (checked and
counted in one Redis script with the submission, so a burst of submissions can never pass a cap together), and
jobs running at once (kept by the claim script: the owner's next job waits until one of theirs ends)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors import registry

RENDER_QUEUES = frozenset({"video", "gpu"})


@dataclass(frozen=True)
class Quota:
    max_queued: int  # jobs not finished yet (queued, waiting to retry or running)
    max_render_minutes: float  # output minutes of the unfinished jobs that render a reel
    max_running: int  # jobs running at once; the owner's next ones wait (PENDING, held) until one of these ends


class QuotaExceeded(Exception):
    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(f"{limit}: {detail}")
        self.limit, self.detail = limit, detail


def render_seconds(task_type: str, params: dict[str, Any]) -> float:
    """The reel length a job will render: its target length when one of its stages renders, else 0."""
    if not any(s.queue in RENDER_QUEUES for s in registry.get(task_type).stage_specs()):
        return 0.0
    return float(params.get("target_seconds") or 0.0)
