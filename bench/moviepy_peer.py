"""The standard reel rendered with MoviePy 2 (the benchmark peer). Runs in bench/.peer/venv, never the main venv.

Usage: bench/.peer/venv/bin/python bench/moviepy_peer.py SPEC.json
SPEC (written by bench/render.py) names the inputs, the output, the size, the encoder settings, the caption
pages and the caption style. Prints one JSON line: {"seconds": render wall time, "frames": ..., "moviepy": ...}.

The composition follows what a careful MoviePy user would write for the same reel:
- background: the landscape clip looped, fitted to the frame width (Resize, Lanczos) over a blurred, dimmed,
  cover-cropped copy of itself; the blur runs at 1/8 size (PIL) like ours, since MoviePy 2 ships no blur;
- captions: per page one TextClip per word (white) for the page's time, plus one TextClip per word (highlight
  colour) over it while that word is the active one;
- audio: narration + music at -16 dB, ducked by a further 12 dB under speech with a vectorised gain envelope
  (afx.MultiplyVolume with time ranges evaluates a Python loop per sample, far slower);
- libx264 veryfast, CRF 23, the same maxrate/bufsize/GOP as ours, yuv420p, AAC, threads=2.
Not done here (ours does them): Ken Burns / colour grade / vignette, caption shadow, loudness normalisation.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import time
from pathlib import Path

import numpy as np
from moviepy import AudioFileClip, CompositeAudioClip, CompositeVideoClip, TextClip, VideoFileClip, vfx
from PIL import Image, ImageFilter, ImageFont

WORK_SCALE = 8
BLUR_RADIUS = 6.0
DIM = 0.75


def blur_backdrop(width: int, height: int):
    small = (max(1, width // WORK_SCALE), max(1, height // WORK_SCALE))

    def fn(frame: np.ndarray) -> np.ndarray:
        sh, sw = frame.shape[:2]
        s = max(height / sh, width / sw)
        cw, ch = width / s, height / s
        x0, y0 = (sw - cw) / 2, (sh - ch) / 2
        img = Image.fromarray(frame).resize(small, Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
        img = img.filter(ImageFilter.GaussianBlur(BLUR_RADIUS)).point(lambda v: int(v * DIM))
        return np.asarray(img.resize((width, height), Image.Resampling.BILINEAR))

    return fn


def caption_clips(spec: dict) -> list:
    st, safe = spec["style"], spec["safe_zone"]
    W, H = spec["width"], spec["height"]
    pages = spec["pages"]
    box_w = int(W * (1 - safe["left"] - safe["right"]))
    clips = []
    for pi, page in enumerate(pages):
        words = [w[0].upper() if st["uppercase"] else w[0] for w in page["words"]]
        size = max(8, round(st["size"] * W))
        while True:  # shrink until the widest line fits, as ours does
            font = ImageFont.truetype(st["font"], size)
            space = font.getlength(" ")
            widths = [font.getlength(w) for w in words]
            line_w = [sum(widths[j] for j in line) + space * (len(line) - 1) for line in page["lines"]]
            if max(line_w) <= box_w * 0.96 or size <= 8:
                break
            size = max(8, int(size * 0.9))
        stroke = max(1, round(st["stroke"] * size))
        line_h = int(size * 1.22)
        pad = stroke + max(2, size // 12)
        block_h = line_h * len(page["lines"]) + 2 * pad
        top = int(st["y"] * H - block_h / 2)
        top = max(int(H * safe["top"]), min(top, int(H * (1 - safe["bottom"])) - block_h))
        left = int(W * safe["left"])
        p_start = page["words"][0][1]
        shown_until = page["words"][-1][2] + spec["hold_s"]
        if pi + 1 < len(pages):
            shown_until = min(shown_until, pages[pi + 1]["words"][0][1])
        starts = [w[1] for w in page["words"]]
        for li, line in enumerate(page["lines"]):
            x = left + (box_w - line_w[li]) / 2
            y = top + pad + li * line_h
            for j in line:
                a = max(p_start, starts[j])
                b = starts[j + 1] if j + 1 < len(starts) else shown_until
                kw = {"font": st["font"], "text": words[j], "font_size": size, "stroke_color": st["stroke_color"]}
                kw["stroke_width"] = stroke
                # MoviePy sizes a label without the descent and stroke below the baseline: make room at the bottom.
                kw["margin"] = (0, 0, stroke, stroke + size // 4)
                pos = (int(x) - stroke, int(y) - stroke)
                base = TextClip(color=st["color"], **kw).with_start(p_start).with_duration(shown_until - p_start)
                clips.append(base.with_position(pos))
                if b > a:
                    hi = TextClip(color=st["highlight"], **kw).with_start(a).with_duration(b - a)
                    clips.append(hi.with_position(pos))
                x += widths[j] + space
    return clips


def duck_envelope(spec: dict, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Music gain over time: -16 dB, a further -12 dB under speech (gaps under 0.3 s held), 80/350 ms ramps."""
    base, duck = 10 ** (-16 / 20), 10 ** (-12 / 20)
    grid = np.arange(0.0, duration + 0.01, 0.01)
    speaking = np.zeros(len(grid), dtype=bool)
    for page in spec["pages"]:
        for _, s, e in page["words"]:
            speaking[(grid >= s - 0.15) & (grid <= e + 0.15)] = True
    target = np.where(speaking, duck, 1.0)
    env = np.empty_like(target)
    g = 1.0
    for i, v in enumerate(target):  # 100 Hz one-pole, faster down than up
        g += (v - g) * (0.12 if v < g else 0.03)
        env[i] = g
    return grid, base * env


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    W, H, fps, D = spec["width"], spec["height"], spec["fps"], spec["seconds"]
    t0 = time.perf_counter()
    src = VideoFileClip(spec["background"], audio=False).with_effects([vfx.Loop(duration=D)])
    back = src.image_transform(blur_backdrop(W, H))
    fore = src.resized(width=W).with_position("center")
    video = CompositeVideoClip([back, fore, *caption_clips(spec)], size=(W, H), use_bgclip=True).with_duration(D)

    grid, env = duck_envelope(spec, D)
    music = AudioFileClip(spec["music"]).subclipped(0, D)
    music = music.transform(lambda gf, t: gf(t) * np.interp(t, grid, env).reshape(-1, 1))
    narration = AudioFileClip(spec["narration"])
    audio = CompositeAudioClip([narration, music]).with_duration(D)
    video = video.with_audio(audio)

    enc = spec["encoder"]
    video.write_videofile(
        spec["output"],
        fps=fps,
        codec="libx264",
        preset=enc["preset"],
        audio_codec="aac",
        audio_bitrate=f"{spec['audio_kbps']}k",
        audio_fps=spec["sample_rate"],
        threads=spec["threads"],
        pixel_format="yuv420p",
        ffmpeg_params=enc["ffmpeg_params"],
        logger=None,
    )
    elapsed = time.perf_counter() - t0
    video.close()
    src.close()
    print(json.dumps({"seconds": elapsed, "frames": round(D * fps), "moviepy": importlib.metadata.version("moviepy")}))


if __name__ == "__main__":
    main()
