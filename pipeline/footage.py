"""Background footage: a clip's facts (probe), a folder's clips, and frames of a clip at given times (FFmpeg through
PyAV), scaled to a working size and looped."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch
from torch import Tensor

from pipeline.clip_decoder import ClipDecoder, wrap
from pipeline.errors import InvalidMediaError
from pipeline.files import require_media_file
from pipeline.low_priority import give_way

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"})


@dataclass(frozen=True)
class MediaInfo:
    path: str
    width: int
    height: int
    fps: float
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def probe_video(path: str | Path) -> MediaInfo:
    """Open a video with FFmpeg and check it has decodable frames; errors name the file."""
    p = require_media_file(path)
    try:
        with av.open(str(p)) as c:
            if not c.streams.video:
                raise InvalidMediaError(str(p), "has no video stream")
            s = c.streams.video[0]
            fps = float(s.average_rate or s.guessed_rate or 0)
            first = next(c.decode(video=0), None)
            if first is None or fps <= 0:
                raise InvalidMediaError(str(p), "video stream holds no decodable frames")
            frames = s.frames
            if not frames and s.duration and s.time_base:
                frames = int(float(s.duration * s.time_base) * fps)
            if not frames and c.duration:
                frames = int(c.duration / 1_000_000 * fps)
            return MediaInfo(str(p), first.width, first.height, fps, max(1, int(frames or 1)))
    except av.FFmpegError as e:
        raise InvalidMediaError(str(p), f"cannot decode video ({e.strerror or type(e).__name__})") from None


def list_footage(path: str | Path) -> list[Path]:
    """A file, or the video files of a folder in name order."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES and f.is_file())
        if not files:
            raise InvalidMediaError(str(p), f"folder holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
        return files
    if not p.exists():
        raise InvalidMediaError(str(p), "no such file or folder")
    return [p]


class FootageSource:
    """Frames of a clip at given times, scaled to a working size and looped past its end: one ClipDecoder and a
    cache of decoded frames, filled ahead of the reads.

    One thread decodes: the reader's own until prefetch() starts the "footage" thread, that one from then on (the
    reader waits for it instead of racing it for the decoder, which would seek back to decode a frame twice). One
    lock (`_lock`, a condition) guards everything the two share: the cache, where the reads are (`_wanted`, their
    `_step`, `_reads`), the frame count, the error and `_closed`. Its invariant: every cached frame is one the reads
    will want, that is any frame of the clip when all of them fit in keep_bytes (the clip is kept), else one of the
    positions `_wanted + k * _step` for 0 <= k <= ahead, where ahead is 0 before the first read, 1 after it and
    AHEAD once the step is known; so a window holds at most AHEAD + 1 frames, and a change of step wastes at most
    one decode.

    It is not decord: decord's reader keeps a thread spinning on a whole core for as long as it is open
    (eva-decord 0.6.1 and decord2 3.4 alike: 100 % of a core while idle, 16 ms of CPU a frame beside a busy
    compositor), which on a small machine starves x264.
    """

    AHEAD = 8  # frames decoded ahead of the reads when the clip is not kept (~8 MB at 1080x608)
    AHEAD_YIELDS = 4  # frames: decoding ahead of the reader by more, it gives way between frames
    WAIT_SLICE_S = 1.0  # a waiting thread looks at `_closed` at least this often

    def __init__(self, path: str, width: int, height: int, loop: bool = True, keep_bytes: int = 0) -> None:
        """`keep_bytes`: keep the converted frames when all of them fit in this many bytes, so that a clip that
        loops is decoded and scaled once (a 10 s clip fitted to a 1080-wide reel is 300 MB)."""
        self.info = probe_video(path)
        self.path, self.width, self.height, self.loop = str(path), width, height, loop
        self.keep_bytes = keep_bytes
        self.fps = self.info.fps
        self._decoder = ClipDecoder(self.path, self.fps, self.info.frames, width, height, loop)
        self.bt709 = self._decoder.bt709  # such footage goes to the renderer as stored, as YUV planes
        self._lock = threading.Condition()
        self._cache: dict[tuple[int, bool], np.ndarray] = {}
        self._wanted, self._step, self._reads, self._yuv = -1, 1, 0, False
        self._count = self.info.frames  # the decoder's, lowered when the stream ends earlier than its header said
        self._error: InvalidMediaError | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def count(self) -> int:
        """The clip's frames (once read past, the stream's real count when its header over-counted)."""
        return self._count

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            thread = self._thread
        if thread is None:
            self._decoder.close()
        else:  # it closes the decoder as it ends, after the decode it may be in
            thread.join(timeout=10.0)

    def prefetch(self, yuv: bool) -> None:
        """Decode on a thread of its own from now on, ahead of the reads (which must then come in order, as a
        render's do): all of the clip when it is kept, else the next AHEAD frames the reads will want. The thread
        runs at its creator's priority (the renderer's composing thread is a low one): decoding then overlaps
        composing in the time x264 leaves idle, instead of alternating with it (+3 % frames/s on 2 cores with a
        kept clip). A decoding error stops it; the read of a frame it did not decode raises that error."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            if self._reads == 0:
                self._yuv = yuv
            self._thread = threading.Thread(target=self._decode_ahead, name="footage", daemon=True)
            self._thread.start()

    def positions(self, times: np.ndarray) -> np.ndarray:
        """Where times are in the reads: frame counts from the clip's start, not wrapped (see clip_decoder.wrap)."""
        return np.floor(times * self.fps + 1e-6).astype(np.int64)

    def indices(self, times: np.ndarray) -> np.ndarray:
        """The clip's frames shown at times."""
        return np.array([wrap(int(p), self._count, self.loop) for p in self.positions(times)], np.int64)

    def _keeps(self, yuv: bool) -> bool:
        frame_bytes = self.width * self.height * 3 // (2 if yuv else 1)  # yuv420p or rgb24
        return self.keep_bytes >= self._count * frame_bytes

    def _window(self) -> list[int]:
        """The frames the reads want next, in the order they want them (under the lock, when not kept)."""
        ahead = 0 if self._reads == 0 else 1 if self._reads == 1 else self.AHEAD
        at = (self._wanted + k * self._step for k in range(ahead + 1))
        return list(dict.fromkeys(wrap(p, self._count, self.loop) for p in at if p >= 0))

    def _frame(self, at: int, yuv: bool) -> np.ndarray:
        """The frame at position `at` of the reads."""
        with self._lock:
            if 0 < at - self._wanted <= self.AHEAD:
                self._step = at - self._wanted
            self._wanted, self._yuv, self._reads = at, yuv, self._reads + 1
            if not self._keeps(yuv):  # let go of the frames the reads passed or will not read
                window = set(self._window())
                for key in [key for key in self._cache if key[0] not in window or key[1] != yuv]:
                    del self._cache[key]
            self._lock.notify_all()
            while (image := self._cache.get((wrap(at, self._count, self.loop), yuv))) is None and self._thread:
                if self._error is not None:
                    raise self._error
                if self._closed or not self._thread.is_alive():
                    raise InvalidMediaError(self.path, "was closed while a frame was read")
                self._lock.wait(self.WAIT_SLICE_S)
        if image is None:  # no thread decodes ahead: this one decodes, holding no lock meanwhile
            idx, image = self._decoder.frame(wrap(at, self._count, self.loop), yuv)
            with self._lock:
                self._count = self._decoder.count
                if self._keeps(yuv):
                    self._cache[(idx, yuv)] = image
        return image

    def _next_to_decode(self) -> tuple[int, bool, int] | None:
        """The frame to decode ahead next and how far ahead of the reads it is, or None when there is none yet
        (under the lock)."""
        yuv, count = self._yuv, self._count
        if self._keeps(yuv):
            first = wrap(max(self._wanted, 0), count, self.loop)
            for lead in range(count):
                if ((first + lead) % count, yuv) not in self._cache:
                    return (first + lead) % count, yuv, lead
            return None
        for lead, idx in enumerate(self._window()):
            if (idx, yuv) not in self._cache:
                return idx, yuv, lead * self._step
        return None

    def _decode_ahead(self) -> None:
        try:
            while True:
                with self._lock:
                    while not self._closed and (todo := self._next_to_decode()) is None:
                        if self._keeps(self._yuv):  # all of a kept clip is decoded: the reads have the decoder back
                            self._thread = None
                            return
                        self._lock.wait(self.WAIT_SLICE_S)
                    if self._closed or todo is None:
                        return
                    want, yuv, lead = todo
                idx, image = self._decoder.frame(want, yuv)
                with self._lock:
                    self._count = self._decoder.count
                    if self._keeps(yuv) or (yuv == self._yuv and idx in self._window()):
                        self._cache[(idx, yuv)] = image
                    self._lock.notify_all()
                if lead > self.AHEAD_YIELDS:
                    give_way()  # far enough ahead of the reader to let x264 have the CPU first
        except (InvalidMediaError, av.FFmpegError) as e:
            with self._lock:
                self._error = e if isinstance(e, InvalidMediaError) else _decode_error(self.path, e)
                self._lock.notify_all()
        finally:
            with self._lock:
                handed_back = self._thread is None
            if not handed_back:  # closed, or stopped by an error: the decoder is done with
                self._decoder.close()

    def _batch(self, times: np.ndarray, yuv: bool) -> np.ndarray:
        try:
            frames = [self._frame(int(p), yuv) for p in self.positions(times)]
            return frames[0][None] if len(frames) == 1 else np.stack(frames)  # one frame: a view, no copy
        except av.FFmpegError as e:
            raise _decode_error(self.path, e) from None

    def planes(self, times: np.ndarray, device: torch.device) -> tuple[Tensor, Tensor]:
        """(N, h, w) luma and (N, 2, h/2, w/2) chroma, uint8 yuv420p in limited range (as stored when `bt709`)."""
        batch = torch.from_numpy(self._batch(times, yuv=True)).to(device)
        n, h = len(batch), self.height
        return batch[:, :h], batch[:, h:].reshape(n, 2, h // 2, self.width // 2)

    def raw(self, times: np.ndarray, device: torch.device) -> Tensor:
        """(N, 3, h, w) uint8 RGB frames."""
        batch = self._batch(times, yuv=False)
        # Planar while still bytes: the transpose moves a quarter of the data it would as float.
        return torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).contiguous()

    def frames(self, times: np.ndarray, device: torch.device) -> Tensor:
        """(N, 3, h, w) float RGB in [0, 1]."""
        return self.raw(times, device).to(torch.float32).div_(255.0)


def _decode_error(path: str, e: av.FFmpegError) -> InvalidMediaError:
    return InvalidMediaError(path, f"decode failed ({e.strerror or type(e).__name__})")
