"""The one render entry: a plan to an MP4, its frame ranges encoded by a segment runner, the soundtrack made beside
them, the segments and the soundtrack joined without re-encoding.

A segment runner decides where the segments encode; `render` does everything else, the same way for all of them:

- `InProcess(device, n)`: here, one after another (`reels make`, the video stages).
- `Threads(device, n)`: here, all at once, one x264 each; a GPU composes for all (the GPU pool's actor).
- `actors.segments.RayTasks(device, n)`: Ray tasks anywhere in the cluster, back as bytes (`--segments N`).
- `actors.gpu_pool.GpuPool(key, device, n)`: a GPU pool actor's `Threads`, back as bytes (the 4K master).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipeline.blur_fill_plane import preload
from pipeline.encode import Segment, encode_segment, split_frames
from pipeline.files import atomic_path
from pipeline.low_priority import Background, wait_until
from pipeline.mux import join
from pipeline.plan import RenderPlan
from pipeline.progress import Progress
from pipeline.soundtrack import check_audio, encode_audio


@dataclass(frozen=True)
class SegmentJob:
    """Frames [start, end) of the plan, to be encoded into `path`; `progress` takes the segment's own fraction."""

    start: int
    end: int
    path: Path
    progress: Progress


class SegmentRunner(Protocol):
    """Encodes every job's frames into its path and returns the segments. It stops soon after `stop` is set (or
    the calling thread is interrupted), raising RenderCancelled or the interrupt."""

    @property
    def segments(self) -> int:
        """How many frame ranges the plan is split into."""
        ...

    def run(self, plan: RenderPlan, jobs: Sequence[SegmentJob], stop: threading.Event) -> list[Segment]: ...


@dataclass(frozen=True)
class InProcess:
    device: str = "cpu"
    segments: int = 1

    def run(self, plan: RenderPlan, jobs: Sequence[SegmentJob], stop: threading.Event) -> list[Segment]:
        return [encode_segment(plan, j.start, j.end, j.path, self.device, j.progress, stop) for j in jobs]


def _failed(future: Future[Segment]) -> bool:
    return future.done() and future.exception() is not None


@dataclass(frozen=True)
class Threads:
    """The segments encode at once, each with its own x264: a GPU composes for all of them while the node's CPU
    cores encode."""

    device: str = "cpu"
    segments: int = 2

    def run(self, plan: RenderPlan, jobs: Sequence[SegmentJob], stop: threading.Event) -> list[Segment]:
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="render") as pool:
            futures = [
                pool.submit(encode_segment, plan, j.start, j.end, j.path, self.device, j.progress, stop) for j in jobs
            ]
            try:
                wait_until(lambda: all(f.done() for f in futures) or any(_failed(f) for f in futures))
            finally:
                if not all(f.done() and not _failed(f) for f in futures):
                    stop.set()  # interrupted, or a segment failed: the others stop instead of finishing
            return [f.result() for f in futures]


def segment_jobs(plan: RenderPlan, segments: int, folder: Path, progress: Progress | None) -> list[SegmentJob]:
    """The plan's frames in `segments` ranges; their progress is summed into `progress`'s first 95 %."""
    done: dict[int, float] = {}
    total = plan.frame_count

    def reporter(a: int, b: int) -> Progress:
        def report(f: float, status: str) -> None:
            done[a] = f * (b - a)
            if progress:
                progress(0.95 * sum(done.values()) / total, status)

        return report

    ranges = split_frames(total, segments)
    return [SegmentJob(a, b, folder / f"seg{a:08d}.mp4", reporter(a, b)) for a, b in ranges]


def render(
    plan: RenderPlan,
    out_path: str | Path,
    runner: SegmentRunner | None = None,
    progress: Progress | None = None,
    work_dir: str | Path | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Render a whole plan to `out_path` atomically (temp file in the same folder, then rename), its segments
    encoded by `runner` (default: one segment, in this process, on the CPU).

    Setting `cancel`, or interrupting the calling thread (a Ray cancel or time limit), stops every part (composing,
    decoding, x264, the audio, the join) within a fraction of a second and leaves no output file: RenderCancelled,
    or the interrupt, is raised."""
    chosen = runner or InProcess()
    preload()
    stop = cancel or threading.Event()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The audio is checked first, then mixed and encoded on a background thread while the video renders.
    check_audio(plan)
    with tempfile.TemporaryDirectory(prefix="reels-render-", dir=work_dir) as tmp:
        audio_job: Background[Path] = Background(
            lambda: encode_audio(plan, Path(tmp) / "audio.mp4", stop), "audio", stop, idle=True
        )
        try:
            segs = chosen.run(plan, segment_jobs(plan, chosen.segments, Path(tmp), progress), stop)
            if progress:
                progress(0.96, "joining")
            audio = audio_job.result()
            with atomic_path(out) as tmp_out:
                join(plan, segs, audio, tmp_out, stop)
        except BaseException:
            stop.set()
            raise
        finally:
            audio_job.finish()  # done or stopping: waited for before the folder it writes into goes
    if progress:
        progress(1.0, "done")
    return out
