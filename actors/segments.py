"""Segment runners on Ray: a plan's frame ranges encode as Ray tasks anywhere in the cluster and come back through
the object store as bytes, so this works across nodes; `runner_for` is the one choice of runner for a render."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from pipeline.encode import Segment, encode_segment
from pipeline.errors import RenderCancelled
from pipeline.plan import RenderPlan
from pipeline.render import InProcess, SegmentJob, SegmentRunner

POLL_S = 0.1  # how often a waiting runner looks at its stop flag


@ray.remote(num_cpus=1, max_retries=2)
def render_segment(plan: RenderPlan, start: int, end: int, device: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="reels-seg-") as tmp:
        path = Path(tmp) / "seg.mp4"
        encode_segment(plan, start, end, path, device)
        return path.read_bytes()


def collect(refs: dict[Any, SegmentJob], stop: threading.Event) -> list[Segment]:
    """Wait for segment refs (each yielding the segment's bytes), writing each to its job's path as it arrives;
    stopped, interrupted or failed, the refs still running are cancelled."""
    pending = list(refs)
    try:
        while pending:
            if stop.is_set():
                raise RenderCancelled("the render was cancelled")
            ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
            for ref in ready:
                job = refs[ref]
                job.path.write_bytes(ray.get(ref))
                job.progress(1.0, "segment rendered")
    except BaseException:
        for ref in pending:
            ray.cancel(ref)
        raise
    return [Segment(str(j.path), j.start, j.end) for j in refs.values()]


@dataclass(frozen=True)
class RayTasks:
    device: str = "cpu"
    segments: int = 2

    def run(self, plan: RenderPlan, jobs: Sequence[SegmentJob], stop: threading.Event) -> list[Segment]:
        plan_ref = ray.put(plan)
        return collect({render_segment.remote(plan_ref, j.start, j.end, self.device): j for j in jobs}, stop)


def runner_for(segments: int, device: str = "cpu") -> SegmentRunner:
    """Segments beyond one encode as Ray tasks when Ray is running; otherwise the render stays in this process."""
    if segments > 1 and ray.is_initialized():
        return RayTasks(device, segments)
    return InProcess(device)
