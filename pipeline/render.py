"""Encode a plan: frame ranges to H.264 segments, segments joined without re-encoding, AAC muxed in."""

from __future__ import annotations

import contextlib
import itertools
import queue
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from pipeline.audio import load_audio, mix, normalize, probe_audio
from pipeline.background import Background, give_way, wait_until
from pipeline.compositor import Compositor
from pipeline.errors import InvalidInputError, RenderCancelled
from pipeline.files import atomic_path
from pipeline.fused import preload
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


def check_audio(plan: RenderPlan) -> None:
    """Every audio track opens and decodes: a missing or corrupt file fails before any video work."""
    for track in plan.audio:
        probe_audio(track.path)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise RenderCancelled("the render was cancelled")


def mix_audio(plan: RenderPlan, cancel: threading.Event | None = None) -> np.ndarray:
    """The plan's audio tracks mixed, ducked and normalised: float32 (n, 2), exactly the video's length."""
    o = plan.output
    n = round(plan.frame_count / o.fps * o.sample_rate)
    voice = np.zeros(n, dtype=np.float32)
    music = None
    for track in plan.audio:
        _check(cancel)
        data = load_audio(track.path, o.sample_rate) * 10 ** (track.gain_db / 20)
        if track.role == "narration":
            mono = data.mean(axis=1)[:n]
            voice[: len(mono)] += mono
        else:
            music = data
    duck = next((t.duck_db for t in plan.audio if t.role == "music"), -12.0)
    _check(cancel)
    mixed = mix(voice, music, o.sample_rate, duck_db=duck)
    _check(cancel)
    return normalize(mixed, o.sample_rate, o.loudness_lufs, o.true_peak_db)


def _audio_packets(
    stream: av.audio.stream.AudioStream, audio: np.ndarray, rate: int, cancel: threading.Event | None
) -> list[av.Packet]:
    packets: list[av.Packet] = []
    chunk = 1024  # one AAC frame (~0.4 ms to encode), then give_way(): it runs beside x264
    planar = np.ascontiguousarray(audio.T.astype(np.float32))
    for s0 in range(0, planar.shape[1], chunk):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planar[:, s0 : s0 + chunk]), format="fltp", layout="stereo"
        )
        frame.sample_rate, frame.pts, frame.time_base = rate, s0, Fraction(1, rate)
        packets.extend(stream.encode(frame))
        _check(cancel)
        give_way()
    packets.extend(stream.encode(None))
    return packets


def encode_audio(plan: RenderPlan, path: str | Path, cancel: threading.Event | None = None) -> Path:
    """The plan's audio mixed and encoded to AAC in an audio-only MP4, for join() to remux: it is made on its own
    thread while the video renders, so the AAC encoder no longer runs alone at the end (0.3 s of a 10 s reel)."""
    o = plan.output
    audio = mix_audio(plan, cancel)
    with av.open(str(path), "w", format="mp4") as out:
        # FFmpeg's "fast" AAC coder, not its default "twoloop": at our 192-256 kb/s it is 2.4x faster (0.58 against
        # 1.40 s for 30 s of narration over music) and closer to the mix (47.7 against 28.5 dB SNR; twoloop spends
        # bits the perceptual way, which pays off only at low bitrates).
        stream = out.add_stream("aac", rate=o.sample_rate, layout="stereo", options={"aac_coder": "fast"})
        stream.bit_rate = o.audio_kbps * 1000
        for packet in _audio_packets(stream, audio, o.sample_rate, cancel):
            out.mux(packet)
    return Path(path)


def _failed(future: Future[Segment]) -> bool:
    return future.done() and future.exception() is not None


def join(
    plan: RenderPlan,
    segments: Sequence[Segment],
    audio: str | Path | None,
    out_path: str | Path,
    cancel: threading.Event | None = None,
) -> None:
    """Concatenate segments' H.264 packets and the audio file's AAC packets (no re-encode), moov atom first."""
    o = plan.output
    inputs = [av.open(s.path) for s in sorted(segments, key=lambda s: s.start)]
    audio_in = av.open(str(audio)) if audio is not None else None
    try:
        template = inputs[0].streams.video[0]
        for c in inputs[1:]:
            if bytes(c.streams.video[0].codec_context.extradata or b"") != bytes(
                template.codec_context.extradata or b""
            ):
                raise ValueError("segments were encoded with different settings and cannot be joined")
        with av.open(str(out_path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            vout = out.add_stream_from_template(template)
            aout = None
            apackets: list[av.Packet] = []
            if audio_in is not None:
                ain = audio_in.streams.audio[0]
                aout = out.add_stream_from_template(ain)
                apackets = [pkt for pkt in audio_in.demux(ain) if pkt.dts is not None]
                for pkt in apackets:
                    pkt.stream = aout
            ai = 0
            for seg, c in zip(sorted(segments, key=lambda s: s.start), inputs, strict=True):
                _check(cancel)
                vin = c.streams.video[0]
                tb = vin.time_base
                assert tb is not None, "demuxed streams always have a time base"
                offset = int(Fraction(seg.start, o.fps) / tb)
                for pkt in c.demux(vin):
                    if pkt.dts is None:
                        continue
                    pkt.pts = None if pkt.pts is None else pkt.pts + offset
                    pkt.dts += offset
                    t_video = float(pkt.dts * tb)
                    while (
                        aout is not None
                        and ai < len(apackets)
                        and float((apackets[ai].pts or 0) * (apackets[ai].time_base or 0)) <= t_video
                    ):
                        out.mux(apackets[ai])
                        ai += 1
                    pkt.stream = vout
                    out.mux(pkt)
            for pkt in apackets[ai:]:
                out.mux(pkt)
    finally:
        for c in inputs:
            c.close()
        if audio_in is not None:
            audio_in.close()


def render(
    plan: RenderPlan,
    out_path: str | Path,
    device: str = "cpu",
    segments: int = 1,
    progress: Progress | None = None,
    work_dir: str | Path | None = None,
    parallel: bool = False,
    cancel: threading.Event | None = None,
) -> Path:
    """Render a whole plan to `out_path` atomically (temp file in the same folder, then rename).

    `parallel`: the segments encode at once, each with its own x264 (a GPU composes for all of them while the node's
    CPU cores encode); otherwise one after another. Setting `cancel`, or interrupting the calling thread (a Ray
    cancel or time limit), stops every part (composing, decoding, x264, the audio, the join) within a fraction of a
    second and leaves no output file: RenderCancelled, or the interrupt, is raised."""
    preload()
    stop = cancel or threading.Event()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ranges = split_frames(plan.frame_count, segments)
    total = plan.frame_count
    done: dict[int, float] = {}

    def seg_progress(a: int, b: int) -> Progress:
        def report(f: float, status: str) -> None:
            done[a] = f * (b - a)
            if progress:
                progress(0.95 * sum(done.values()) / total, status)

        return report

    # The audio is checked first, then mixed and encoded on a background thread while the video renders.
    check_audio(plan)
    with tempfile.TemporaryDirectory(prefix="reels-render-", dir=work_dir) as tmp:
        audio_job: Background[Path] = Background(
            lambda: encode_audio(plan, Path(tmp) / "audio.mp4", stop), "audio", stop, idle=True
        )
        try:
            jobs = [(plan, a, b, Path(tmp) / f"seg{a:08d}.mp4", device, seg_progress(a, b), stop) for a, b in ranges]
            if parallel:
                with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="render") as pool:
                    futures = [pool.submit(encode_segment, *job) for job in jobs]
                    try:
                        wait_until(lambda: all(f.done() for f in futures) or any(_failed(f) for f in futures))
                    finally:
                        if not all(f.done() and not _failed(f) for f in futures):
                            stop.set()  # interrupted, or a segment failed: the others stop instead of finishing
                    segs = [f.result() for f in futures]
            else:
                segs = [encode_segment(*job) for job in jobs]
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
