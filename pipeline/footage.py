"""Background footage: a clip's facts (probe), a folder's clips, and frames of a clip at given times (FFmpeg through
PyAV), scaled to a working size and looped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch
from torch import Tensor

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
    """Frames of a clip at given times, decoded with FFmpeg (PyAV) and scaled to a working size, looped past its end.

    A render asks for times in order, so the reader decodes forward and seeks only when the times jump back (a loop)
    or far ahead; frames it passes over are decoded but never converted. It is not decord: decord's reader keeps a
    thread spinning on a whole core for as long as it is open (eva-decord 0.6.1 and decord2 3.4 alike: 100 % of a
    core while idle, 16 ms of CPU a frame beside a busy compositor), which on a small machine starves x264.
    """

    SEEK_AHEAD = 90  # frames: farther than this forward, seeking beats decoding through
    AHEAD = 8  # frames decoded ahead of the reads when the clip is not kept (~8 MB at 1080x608)
    AHEAD_YIELDS = 4  # frames: decoding ahead of the reader by more, it gives way between frames

    def __init__(self, path: str, width: int, height: int, loop: bool = True, keep_bytes: int = 0) -> None:
        """`keep_bytes`: keep the converted frames when all of them fit in this many bytes, so that a clip that
        loops is decoded and scaled once (a 10 s clip fitted to a 1080-wide reel is 300 MB)."""
        self.info = probe_video(path)
        self.path, self.width, self.height, self.loop = str(path), width, height, loop
        self.keep_bytes = keep_bytes
        self._kept: dict[tuple[int, bool], np.ndarray] = {}
        self._lock = threading.Lock()  # the decoder: the reader's thread and the prefetching one take turns
        self._closed = False
        self.fps = self.info.fps
        self._count = self.info.frames  # corrected when the stream ends earlier than its header said
        self._container = av.open(self.path)
        self._stream = self._container.streams.video[0]
        tb = self._stream.time_base
        self._t0 = float(self._stream.start_time * tb) if self._stream.start_time and tb else 0.0
        cc = self._stream.codec_context
        # Unflagged footage gets the matrix players assume (BT.709 from 720 lines up, else BT.601); FFmpeg's own
        # default is BT.601 for all.
        flagged = int(cc.colorspace or 2)
        colorspace = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}.get(flagged, 1 if self.info.height >= 720 else 5)
        self._colorspace = colorspace
        self._full_range = int(cc.color_range or 0) == 2 or (
            cc.format is not None and cc.format.name.startswith("yuvj")
        )
        # BT.709 footage goes to the renderer as it is stored, as YUV planes (no conversion to RGB and back).
        self.bt709 = colorspace == 1
        self._decoded: Iterator[av.VideoFrame] = iter(())
        self._next = 0  # index of the frame the decoder yields next
        self._last: tuple[int, bool, np.ndarray] | None = None
        self._wanted, self._step = -1, 1  # the frame last read, and how far the reads move
        self._moved = threading.Condition()  # the reader moved on: decoding ahead may go on
        self._window: dict[int, None] = {}  # positions decoded ahead of the reads (when the clip is not kept)
        self._reads_kept = False
        self._seek(0)

    def close(self) -> None:
        self._closed = True
        with self._moved:
            self._moved.notify_all()
        with self._lock:
            self._container.close()

    def prefetch(self, yuv: bool) -> None:
        """Decode on a thread of its own, ahead of the reads (which must then come in order, as a render's do):
        all of the clip when it is kept (see keep_bytes), else the next AHEAD frames the reads will want (their
        step is the last one seen). The thread runs at its creator's priority (the renderer's composing thread is a
        low one): decoding then overlaps composing in the time x264 leaves idle, instead of alternating with it
        (+3 % frames/s on 2 cores with a kept clip). A decoding error stops it; the read of that frame raises it."""
        keeps = self._keeps(yuv)
        self._reads_kept = not keeps  # a window: the reads' own decodes go in it too (see _frame)

        def run() -> None:
            i = 0  # a position in the reads' unwrapped frame count (see _frame)
            while not self._closed and (not keeps or i < self._count):
                if not keeps:
                    i = self._next_ahead(yuv)
                    if i < 0:
                        return
                idx = self._wrap(i)
                with self._lock:
                    if self._closed:  # close() may have closed the container while this waited for it
                        return
                    if (idx, yuv) not in self._kept and (keeps or i >= self._wanted):
                        try:
                            image = self._decode(idx, yuv)
                        except (InvalidMediaError, av.FFmpegError):
                            return
                        d = i - self._wanted
                        # Still wanted (the reads move meanwhile; at d == 0 the reader waits for this very frame).
                        if not keeps and d >= 0 and d % self._step == 0:
                            self._kept[(idx, yuv)] = image
                            self._window[i] = None
                if i > self._wanted + self.AHEAD_YIELDS:
                    give_way()  # far enough ahead of the reader to let x264 have the CPU first
                i += 1

        threading.Thread(target=run, name="footage", daemon=True).start()

    def _next_ahead(self, yuv: bool) -> int:
        """The first of the next AHEAD positions the reads will want (the last one read plus its steps) that is not
        decoded yet, waiting for the reads to move on while there is none; -1 when the clip (not looping) has no
        frame left ahead of the reads, or the source is closed."""
        with self._moved:
            while not self._closed:
                at, step = self._wanted, self._step
                if not self.loop and at + step >= self._count:
                    return -1
                for k in range(self.AHEAD + 1):  # from the frame being read: the reader may be waiting for it
                    i = at + k * step
                    if i < 0:
                        continue
                    if (not self.loop and i >= self._count) or (self._wrap(i), yuv) not in self._kept:
                        break
                if (self.loop or i < self._count) and (self._wrap(i), yuv) not in self._kept:
                    return i
                self._moved.wait(1.0)
            return -1

    def _wrap(self, i: int) -> int:
        """The clip's frame at position i of the reads: round the loop, or held on the last frame."""
        return i % self._count if self.loop else min(max(i, 0), self._count - 1)

    def positions(self, times: np.ndarray) -> np.ndarray:
        """Where times are in the reads: frame counts from the clip's start, not wrapped (see _wrap)."""
        return np.floor(times * self.fps + 1e-6).astype(np.int64)

    def indices(self, times: np.ndarray) -> np.ndarray:
        """The clip's frames shown at times."""
        return np.array([self._wrap(int(p)) for p in self.positions(times)], np.int64)

    def _seek(self, idx: int) -> None:
        tb = self._stream.time_base
        assert tb is not None, "demuxed streams always have a time base"
        self._container.seek(int((idx / self.fps + self._t0) / tb), stream=self._stream, backward=True)
        self._decoded = self._container.decode(self._stream)
        self._next = -1  # unknown until the first frame arrives

    def _index(self, frame: av.VideoFrame, fallback: int) -> int:
        if frame.pts is None or frame.time_base is None:
            return fallback
        return round((float(frame.pts * frame.time_base) - self._t0) * self.fps)

    def _convert(self, frame: av.VideoFrame, yuv: bool) -> np.ndarray:
        src_range = 2 if self._full_range else 1
        # Area averaging: for the usual shrink (1080p footage into a 1080-wide reel) it is both faster than
        # swscale's default bilinear (1.35 against 2.27 ms a frame) and closer to bicubic (52.7 against 50.9 dB).
        if yuv:
            scaled = frame.reformat(
                self.width, self.height, "yuv420p", interpolation="AREA", src_color_range=src_range, dst_color_range=1
            )
            return scaled.to_ndarray()
        return frame.to_ndarray(
            format="rgb24",
            width=self.width,
            height=self.height,
            interpolation="AREA",
            src_colorspace=self._colorspace,
            src_color_range=src_range,
        )

    def _keeps(self, yuv: bool) -> bool:
        frame_bytes = self.width * self.height * 3 // (2 if yuv else 1)  # yuv420p or rgb24
        return self.keep_bytes >= self._count * frame_bytes

    def _frame(self, at: int, yuv: bool) -> np.ndarray:
        """The frame at position `at` of the reads (frame count from the clip's start, not wrapped)."""
        with self._moved:
            if 0 < at - self._wanted <= self.AHEAD:
                self._step = at - self._wanted
            self._wanted = at
            self._moved.notify()
        idx = self._wrap(at)
        kept = self._kept.get((idx, yuv))
        if kept is None:
            with self._lock:
                kept = self._decode(idx, yuv)
                if self._reads_kept:  # so that decoding ahead does not decode it again
                    self._kept[(idx, yuv)] = kept
                    self._window[at] = None
        for i in list(self._window):  # frames decoded ahead that the reads have passed or will not read
            d = i - at
            if d < 0 or d % self._step:
                del self._window[i]
                if self._wrap(i) != idx:
                    self._kept.pop((self._wrap(i), yuv), None)
        return kept

    def _decode(self, idx: int, yuv: bool) -> np.ndarray:
        kept = self._kept.get((idx, yuv))
        if kept is not None:
            return kept
        if self._last is not None and self._last[:2] == (idx, yuv):
            return self._last[2]
        if not 0 <= self._next <= idx or idx > self._next + self.SEEK_AHEAD:
            self._seek(idx)
        ends = 0
        while True:
            frame = next(self._decoded, None)
            if frame is None:  # the stream ended before idx: its header over-counted the frames
                ends += 1
                if ends > 3:
                    raise InvalidMediaError(self.path, f"cannot decode frame {idx} of {self._count}")
                # Frames up to the decoder's position exist; a seek that found none was past the end.
                self._count = max(1, min(self._count, self._next if self._next > 0 else idx))
                idx = idx % self._count if self.loop else self._count - 1
                if self._last is not None and self._last[:2] == (idx, yuv):
                    return self._last[2]
                self._seek(idx)
                continue
            i = self._index(frame, max(self._next, 0))
            self._next = i + 1
            keep = self._keeps(yuv)
            if i >= idx or keep:  # frames passed over are converted only when they are kept
                image = self._convert(frame, yuv)
                if keep:
                    self._kept[(i, yuv)] = image
                if i >= idx:
                    self._last = (i, yuv, image)
                    return image

    def _batch(self, times: np.ndarray, yuv: bool) -> np.ndarray:
        try:
            frames = [self._frame(int(p), yuv) for p in self.positions(times)]
            return frames[0][None] if len(frames) == 1 else np.stack(frames)  # one frame: a view, no copy
        except av.FFmpegError as e:
            raise InvalidMediaError(self.path, f"decode failed ({e.strerror or type(e).__name__})") from None

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
