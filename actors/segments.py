"""Segment-parallel rendering: frame ranges render as parallel Ray tasks, travel through the object store as
bytes (so this works across nodes), and are joined without re-encoding."""

from __future__ import annotations

import tempfile
from pathlib import Path

import ray

from pipeline.files import atomic_path
from pipeline.plan import RenderPlan
from pipeline.progress import Progress
from pipeline.render import Segment, check_audio, encode_audio, encode_segment, join, render, split_frames


@ray.remote(num_cpus=1, max_retries=2)
def render_segment(plan: RenderPlan, start: int, end: int, device: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="reels-seg-") as tmp:
        path = Path(tmp) / "seg.mp4"
        encode_segment(plan, start, end, path, device)
        return path.read_bytes()


def render_plan(plan: RenderPlan, out: str | Path, segments: int, progress: Progress, device: str = "cpu") -> None:
    """Render `plan` to `out`; with segments > 1 and Ray running, the frame ranges render in parallel."""
    if segments <= 1 or not ray.is_initialized():
        render(plan, out, device=device, progress=progress)
        return
    check_audio(plan)
    ranges = split_frames(plan.frame_count, segments)
    plan_ref = ray.put(plan)
    refs = {render_segment.remote(plan_ref, a, b, device): (a, b) for a, b in ranges}
    done: dict[tuple[int, int], bytes] = {}
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        done[refs[ready[0]]] = ray.get(ready[0])
        progress(0.95 * len(done) / len(ranges), f"rendered {len(done)}/{len(ranges)} segments")
    with tempfile.TemporaryDirectory(prefix="reels-join-") as tmp:
        audio = encode_audio(plan, Path(tmp) / "audio.mp4")
        segs = []
        for (a, b), data in sorted(done.items()):
            path = Path(tmp) / f"seg{a:08d}.mp4"
            path.write_bytes(data)
            segs.append(Segment(str(path), a, b))
        with atomic_path(out) as tmp_out:
            join(plan, segs, audio, tmp_out)
    progress(1.0, "done")
