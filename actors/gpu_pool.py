"""The GPU actor pool: one long-lived actor per GPU (`num_gpus=1`) keeps CUDA's context warm, composes a plan's
frames on the device and encodes them on the node's CPU cores in parallel segments (H100/H200 have no NVENC).

A gpu-queue stage takes its queue slot without asking for a GPU itself and hands the render to the pool, so a
one-GPU node never deadlocks between the stage and the actor. With `device="cpu"` (tests, REELS_ALLOW_GPU_ON_CPU)
the same code runs on CPUs.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import ray
import torch

from actors.dispatcher import NAMESPACE
from pipeline.plan import RenderPlan
from pipeline.progress import Progress
from pipeline.render import render

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

    def render(self, plan: RenderPlan, out: str, segments: int, render_id: str = "") -> Iterator[tuple[float, str]]:
        """Yields (fraction, status) while the render runs in a thread; the last item is (1.0, "done")."""
        events: queue.Queue[tuple[float, str]] = queue.Queue()
        failed: list[BaseException] = []
        stop = self._cancels.setdefault(render_id or uuid.uuid4().hex, threading.Event())

        def work() -> None:
            try:
                report = lambda f, s: events.put((f, s))  # noqa: E731
                render(plan, out, self.device, segments, report, parallel=True, cancel=stop)
            except BaseException as e:
                failed.append(e)

        thread = threading.Thread(target=work, name="gpu-render")
        thread.start()
        last = 0.0
        while thread.is_alive() or not events.empty():
            try:
                fraction, status = events.get(timeout=0.2)
            except queue.Empty:
                continue
            if fraction >= 1.0 or time.monotonic() - last > 0.25:  # at most 4 events a second
                last = time.monotonic()
                yield fraction, status
        thread.join()
        self._cancels.pop(render_id, None)
        if failed:
            raise failed[0]
        self.rendered += 1


def renderer(index: int = 0, device: str = "cuda", num_gpus: float = 1.0) -> Any:
    """The pool's actor `index` (created on first use, detached, so it stays warm between jobs)."""
    remote: Any = ray.remote
    actor = remote(num_gpus=num_gpus, num_cpus=0, max_concurrency=4, max_restarts=-1)(GpuRenderer)
    name = f"{POOL_PREFIX}{device.replace(':', '')}-{index}"
    return actor.options(name=name, namespace=NAMESPACE, lifetime="detached", get_if_exists=True).remote(device)


def render_on_pool(
    plan: RenderPlan, out: str, segments: int, progress: Progress, key: str = "", device: str = "cuda"
) -> None:
    """Render on one of the pool's actors (one per GPU in the cluster, chosen by `key`), relaying its progress."""
    gpus = int(ray.cluster_resources().get("GPU", 0))
    on_gpu = device.startswith("cuda")
    index = hash(key) % max(1, gpus) if on_gpu else 0
    actor = renderer(index, device, 1.0 if on_gpu else 0.0)
    render_id = uuid.uuid4().hex
    try:
        for ref in actor.render.options(num_returns="streaming").remote(plan, out, segments, render_id):
            fraction, status = ray.get(ref)
            progress(fraction, status)
    except BaseException:
        actor.cancel.remote(render_id)  # cancelled or failed here: the actor's render must not go on alone
        raise
