"""Frames [start, end) of a plan composed and encoded to a video-only H.264 MP4 segment that starts on a keyframe.

Two threads per segment: composing (the Compositor, at low priority) and x264 (PyAV releases the GIL while it
encodes), joined by a small queue of reusable frames."""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from pipeline.blur_fill_plane import preload
from pipeline.compositor import Compositor
from pipeline.errors import InvalidInputError, RenderCancelled
from pipeline.low_priority import Background
from pipeline.plan import RenderPlan
from pipeline.progress import Progress


@dataclass(frozen=True)
class Segment:
    path: str
    start: int
    end: int

    @property
    def frames(self) -> int:
        return self.end - self.start


def split_frames(total: int, parts: int) -> list[tuple[int, int]]:
    """[start, end) ranges of nearly equal length that cover 0..total."""
    parts = max(1, min(parts, total))
    edges = [round(total * k / parts) for k in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def video_options(plan: RenderPlan) -> dict[str, str]:
    """libx264 settings for a plan (public: the benchmark encodes its limit with exactly these)."""
    o = plan.output
    return {
        "crf": str(o.crf),
        "preset": o.preset,
        "maxrate": f"{o.max_kbps}k",
        "bufsize": f"{2 * o.max_kbps}k",
        "x264-params": f"keyint={2 * o.fps}:min-keyint={o.fps}:scenecut=0",
    }


def encode_segment(
    plan: RenderPlan,
    start: int,
    end: int,
    path: str | Path,
    device: str = "cpu",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Segment:
    """Render frames [start, end) of a plan into a video-only MP4 segment that starts on a keyframe. Setting
    `cancel` (or interrupting the calling thread) stops it within a batch of frames with RenderCancelled."""
    if not 0 <= start < end <= plan.frame_count:
        raise InvalidInputError("frames", f"[{start}, {end}) is outside the plan's 0..{plan.frame_count}")
    preload()  # the frame kernels load while the encoder and the footage are set up
    o = plan.output
    comp = Compositor(plan, device, frames=(start, end))
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=o.fps, options=video_options(plan))
        stream.width, stream.height, stream.pix_fmt = o.width, o.height, "yuv420p"
        cc = stream.codec_context
        cc.time_base = Fraction(1, o.fps)
        cc.color_range = 1  # limited (tv) range
        cc.colorspace = cc.color_primaries = cc.color_trc = 1  # BT.709
        # x264 runs on a second thread (PyAV releases the GIL while it encodes) so composing the next batch
        # overlaps encoding this one; the small queue bounds memory and carries errors back.
        todo: queue.Queue[tuple[int, list[av.VideoFrame]] | None] = queue.Queue(maxsize=QUEUED_FRAMES)
        # The frames themselves go round between the threads: the compositor writes into their planes and x264
        # copies them in when it encodes, so no frame memory is allocated (fresh pages cost more to fault in than
        # the writing on this VM) or copied per frame.
        free: queue.Queue[list[av.VideoFrame]] = queue.Queue()

        def batch_frames() -> list[av.VideoFrame]:
            return [av.VideoFrame(o.width, o.height, "yuv420p") for _ in range(comp.batch)]

        for _ in range(QUEUED_FRAMES + 2):  # the queue's, one in the encoder, one being filled
            free.put(batch_frames())
        failed: list[BaseException] = []
        stop = cancel or threading.Event()

        def encoder() -> None:
            try:
                while (item := todo.get()) is not None:
                    b0, frames = item
                    for k, frame in enumerate(frames):
                        if stop.is_set():  # the segment is being thrown away: drop what is queued
                            break
                        frame.pts, frame.time_base = b0 + k - start, cc.time_base
                        for packet in stream.encode(frame):
                            out.mux(packet)
                    free.put(frames)
                if not stop.is_set():
                    for packet in stream.encode(None):
                        out.mux(packet)
            except BaseException as e:  # handed to the composing thread, which raises it
                failed.append(e)
                for _ in range(QUEUED_FRAMES + 2):  # whatever was taken: the composing thread may be waiting
                    free.put(batch_frames())
                while todo.get() is not None:
                    pass

        thread = threading.Thread(target=encoder, name="x264", daemon=True)
        thread.start()

        def compose() -> None:
            # On CPU, x264 keeps the other core busy: one compositing thread beats two that fight it (measured:
            # 22.2 against 18.6 frames/s at 1080x1920 on 2 cores).
            with _one_torch_thread() if comp.device.type == "cpu" else contextlib.nullcontext():
                try:
                    for b0 in range(start, end, comp.batch):
                        if failed or stop.is_set():
                            break
                        idx = np.arange(b0, min(end, b0 + comp.batch))
                        frames = free.get()[: len(idx)]
                        # With x264 well stocked, composing gives way to its threads (see give_way); short of
                        # frames, it is what x264 waits for.
                        comp.give_way = todo.qsize() >= QUEUED_FRAMES // 2
                        comp.render_into(idx, [frame_planes(f) for f in frames])
                        todo.put((b0, frames))
                        if progress:
                            progress((b0 + len(idx) - start) / (end - start), "rendering")
                finally:
                    todo.put(None)
                    thread.join()
                    comp.close()

        # Composing runs ahead of x264 (by the queue), so it can yield the CPU to it: see Background.
        composing = Background[None](compose, "compose", stop)
        try:
            composing.result()
        finally:
            composing.finish()  # composing and x264 end before the container they write into closes
        if failed:
            raise failed[0]
        if stop.is_set():
            raise RenderCancelled("the render was cancelled")
    return Segment(str(path), start, end)


# Batches composed ahead of x264.
QUEUED_FRAMES = 6


def frame_planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A yuv420p frame's planes as writable byte arrays, rows padded to the frame's line size."""
    return tuple(  # type: ignore[return-value]
        np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size) for p in frame.planes
    )


_threads_lock = threading.Lock()
_threads_users = 0
_threads_saved = 0


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """torch's thread count is process-wide: segments encoding in parallel share one setting (counted)."""
    global _threads_users, _threads_saved
    with _threads_lock:
        if _threads_users == 0:
            _threads_saved = torch.get_num_threads()
            torch.set_num_threads(1)
        _threads_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_saved)
