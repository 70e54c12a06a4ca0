"""Background sources: local footage (decord) and procedural animation (torch)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pipeline.errors import InvalidMediaError
from pipeline.files import require_media_file

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
    """Frames of a clip at given times, decoded by decord at a working size, looped past its end."""

    def __init__(self, path: str, width: int, height: int, loop: bool = True) -> None:
        import decord  # imported here: decord spawns no threads until used, but keep import cost lazy

        self.info = probe_video(path)
        self.loop = loop
        try:
            self._reader = decord.VideoReader(path, width=width, height=height, num_threads=1)
        except decord.DECORDError as e:
            raise InvalidMediaError(path, f"cannot decode video ({str(e).splitlines()[0][:120]})") from None
        self._count = len(self._reader)
        self.fps = self._reader.get_avg_fps() or self.info.fps

    def indices(self, times: np.ndarray) -> np.ndarray:
        idx = np.floor(times * self.fps + 1e-6).astype(np.int64)
        return idx % self._count if self.loop else np.clip(idx, 0, self._count - 1)

    def frames(self, times: np.ndarray, device: torch.device) -> Tensor:
        idx = self.indices(times)
        try:
            batch = self._reader.get_batch(idx.tolist()).asnumpy()
        except Exception as e:  # decord raises its own error types from C++
            raise InvalidMediaError(self.info.path, f"decode failed ({str(e).splitlines()[0][:120]})") from None
        t = torch.from_numpy(batch).to(device)
        return t.permute(0, 3, 1, 2).to(torch.float32).div_(255.0)


def palette_for(seed: int) -> Tensor:
    """Three related colours from a seed: a hue walk in HSV with rich saturation."""
    rng = np.random.default_rng(seed)
    h0 = rng.random()
    cols = []
    for k, (s, v) in enumerate(((0.75, 0.45), (0.65, 0.7), (0.85, 0.3))):
        h = (h0 + 0.12 * k) % 1.0
        i, f = int(h * 6), h * 6 - int(h * 6)
        p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
        cols.append([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i % 6])
    return torch.tensor(cols, dtype=torch.float32)


def seed_for(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


class ProceduralSource:
    """Slowly drifting colour fields (a low-frequency plasma), computed small and scaled up."""

    def __init__(self, seed: int, width: int, height: int, work_scale: int = 8) -> None:
        self.width, self.height = width, height
        self.palette = palette_for(seed)
        rng = np.random.default_rng(seed + 1)
        self.phase = torch.tensor(rng.uniform(0, 2 * math.pi, 4), dtype=torch.float32)
        self.sh, self.sw = max(4, height // work_scale), max(4, width // work_scale)

    def frames(self, times: np.ndarray, device: torch.device) -> Tensor:
        t = torch.as_tensor(times, dtype=torch.float32, device=device).view(-1, 1, 1)
        ys = torch.linspace(0, 1, self.sh, device=device).view(1, -1, 1)
        xs = torch.linspace(0, 1, self.sw, device=device).view(1, 1, -1)
        ph = self.phase.to(device)
        v = (
            torch.sin(xs * 3.1 + t * 0.9 + ph[0])
            + torch.sin(ys * 2.3 - t * 0.7 + ph[1])
            + torch.sin((xs + ys) * 2.7 + t * 0.5 + ph[2])
            + torch.sin(torch.sqrt((xs - 0.5) ** 2 + (ys - 0.5) ** 2) * 6.0 - t * 1.3 + ph[3])
        )
        u = (v / 4.0 + 1.0) / 2.0  # 0..1
        pal = self.palette.to(device)
        # Blend across the three palette colours: 0 -> c0, 0.5 -> c1, 1 -> c2.
        a = (1 - (2 * u - 1).abs()).unsqueeze(1)
        lo = (u < 0.5).unsqueeze(1)
        c_edge = torch.where(lo, pal[0].view(1, 3, 1, 1), pal[2].view(1, 3, 1, 1))
        small = c_edge * (1 - a) + pal[1].view(1, 3, 1, 1) * a
        return F.interpolate(small, size=(self.height, self.width), mode="bilinear", align_corners=False)
