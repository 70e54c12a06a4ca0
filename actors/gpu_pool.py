"""The GPU actor pool: one long-lived actor per GPU (`num_gpus=1`) keeps CUDA's context warm, composes a plan's
frames on the device and encodes them on the node's CPU cores in parallel segments (H100/H200 have no NVENC); the
segments travel back to the caller through the object store, which mixes the soundtrack and joins them.

A gpu-queue stage takes its queue slot without asking for a GPU itself and hands the render to the pool, so a
one-GPU node never deadlocks between the stage and the actor. With `device="cpu"` (tests, REELS_ALLOW_GPU_ON_CPU)
the same code runs on CPUs.
"""

from __future__ import annotations

import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
import torch

from actors.dispatcher import NAMESPACE
from pipeline.encode import Segment
from pipeline.errors import RenderCancelled
from pipeline.plan import RenderPlan
from pipeline.progress import Progress
from pipeline.render import SegmentJob, Threads

POOL_PREFIX = "reels-render-"


class GpuRenderer:
    def __init__(self, device: str) -> None:
        self.device = device
        torch.zeros(1, device=device)  # the CUDA context costs seconds: pay it once, here
        self.rendered = 0
        self._cancels: dict[str, threading.Event] = {}

    def ping(self) -> dict[str, Any]:
        name = torch.cuda.get_device_name(self.device) if self.device.startswith("cuda") else "cpu"
        return {"device": self.device, "name": name, "rendered": self.rendered, "rendering": len(self._cancels)}

    def cancel(self, render_id: str) -> bool:
        """Stop the render `render_id` (its caller was cancelled): a sync actor method is never interrupted by
        ray.cancel, so the caller asks for it on this method, which runs beside it (max_concurrency)."""
        event = self._cancels.get(render_id)
        if event is not None:
            event.set()
        return event is not None

    def render_segments(
        self, plan: RenderPlan, ranges: list[tuple[int, int]], render_id: str = ""
    ) -> Iterator[tuple[int, float, str] | tuple[int, bytes]]:
        """Encodes the frame ranges at once on this actor's device (`Threads`) and streams (start, fraction, status)
        while they run, at most 4 a second, then (start, the segment's bytes) for each range."""
        events: queue.Queue[tuple[int, float, str]] = queue.Queue()
        failed: list[BaseException] = []
        done: list[Segment] = []
        stop = self._cancels.setdefault(render_id or uuid.uuid4().hex, threading.Event())

        def reporter(a: int) -> Progress:
            return lambda f, s: events.put((a, f, s))

        with tempfile.TemporaryDirectory(prefix="reels-gpu-") as tmp:
            jobs = [SegmentJob(a, b, Path(tmp) / f"seg{a:08d}.mp4", reporter(a)) for a, b in ranges]

            def work() -> None:
                try:
                    done.extend(Threads(self.device, len(jobs)).run(plan, jobs, stop))
                except BaseException as e:
                    failed.append(e)

            thread = threading.Thread(target=work, name="gpu-render")
            thread.start()
            last = 0.0
            try:
                while thread.is_alive() or not events.empty():
                    try:
                        a, fraction, status = events.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    if fraction >= 1.0 or time.monotonic() - last > 0.25:
                        last = time.monotonic()
                        yield a, fraction, status
            finally:
                if thread.is_alive():  # the caller stopped reading: this render is no longer wanted
                    stop.set()
                thread.join()
                self._cancels.pop(render_id, None)
            if failed:
                raise failed[0]
            for seg in done:
                yield seg.start, Path(seg.path).read_bytes()
        self.rendered += 1


def renderer(index: int = 0, device: str = "cuda", num_gpus: float = 1.0) -> Any:
    """The pool's actor `index` (created on first use, detached, so it stays warm between jobs)."""
    remote: Any = ray.remote
    actor = remote(num_gpus=num_gpus, num_cpus=0, max_concurrency=4, max_restarts=-1)(GpuRenderer)
    name = f"{POOL_PREFIX}{device.replace(':', '')}-{index}"
    return actor.options(name=name, namespace=NAMESPACE, lifetime="detached", get_if_exists=True).remote(device)


@dataclass(frozen=True)
class GpuPool:
    """A segment runner: the pool's actor for `key` (one actor per GPU in the cluster) composes and encodes all the
    segments at once and streams them back; the soundtrack and the join stay with the caller."""

    key: str = ""
    device: str = "cuda"
    segments: int = 4

    def run(self, plan: RenderPlan, jobs: Sequence[SegmentJob], stop: threading.Event) -> list[Segment]:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        on_gpu = self.device.startswith("cuda")
        index = hash(self.key) % max(1, gpus) if on_gpu else 0
        actor = renderer(index, self.device, 1.0 if on_gpu else 0.0)
        by_start = {j.start: j for j in jobs}
        render_id = uuid.uuid4().hex
        try:
            stream = actor.render_segments.options(num_returns="streaming").remote(
                plan, [(j.start, j.end) for j in jobs], render_id
            )
            for ref in stream:
                if stop.is_set():
                    raise RenderCancelled("the render was cancelled")
                item = ray.get(ref)
                job = by_start[item[0]]
                if len(item) == 2:
                    job.path.write_bytes(item[1])
                else:
                    job.progress(item[1], item[2])
        except BaseException:
            actor.cancel.remote(render_id)  # cancelled or failed here: the actor's render must not go on alone
            raise
        return [Segment(str(j.path), j.start, j.end) for j in jobs]
