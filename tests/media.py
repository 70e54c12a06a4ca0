"""Test media made in code, and independent checks with ffprobe/ffmpeg."""

from __future__ import annotations

import json
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_clip(
    path: Path,
    width: int = 320,
    height: int = 180,
    fps: int = 30,
    seconds: float = 2.0,
    seed: int = 0,
    bt709: bool = False,
) -> Path:
    """A landscape H.264 clip: a moving bright square over a colour ramp (every frame differs); flagged BT.709
    when asked (unflagged, footage this small is read as BT.601)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=3)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        if bt709:
            s.codec_context.colorspace = s.codec_context.color_primaries = s.codec_context.color_trc = 1
        for i in range(round(fps * seconds)):
            img = np.zeros((height, width, 3), np.uint8)
            img[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
            img[..., 1] = base[1]
            img[..., 2] = (base[2] + 4 * i) % 255
            x = (i * 7) % max(1, width - 40)
            img[height // 3 : height // 3 + 40, x : x + 40] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def make_tone(path: Path, seconds: float = 2.0, rate: int = 44_100, freq: float = 220.0, level: float = 0.3) -> Path:
    """A WAV of a chord-like tone, written with PyAV (pcm_s16le)."""
    t = np.arange(round(seconds * rate)) / rate
    x = level * (np.sin(2 * np.pi * freq * t) + 0.5 * np.sin(2 * np.pi * freq * 1.5 * t)) / 1.5
    with av.open(str(path), "w", format="wav") as c:
        s = c.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((x * 32767).astype(np.int16)[None, :], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-count_frames", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def stream(info: dict, kind: str) -> dict:
    return next(s for s in info["streams"] if s["codec_type"] == kind)


def loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) measured by FFmpeg's ebur128 filter, independent of our code."""
    out = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostats",
            "-i",
            str(path),
            "-map",
            "0:a",
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    summary = out[out.rindex("Summary:") :]
    lufs = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))  # type: ignore[union-attr]
    return lufs, peak


def frames_rgb(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Decode chosen frames (by index) as RGB arrays with PyAV."""
    want, out = set(indices), {}
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in want:
                out[i] = f.to_ndarray(format="rgb24")
            if len(out) == len(want):
                break
    return out


def moov_before_mdat(path: Path) -> bool:
    data = path.read_bytes()[: 4096 * 1024]
    m, d = data.find(b"moov"), data.find(b"mdat")
    return m != -1 and (d == -1 or m < d)
