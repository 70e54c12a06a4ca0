"""Caption pages drawn as RGBA layers (karaoke highlight, stroke, shadow) inside the safe zone."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageColor, ImageDraw, ImageFont
from torch import Tensor

from pipeline.captions import CaptionPage
from pipeline.errors import InvalidInputError
from pipeline.low_priority import give_way
from pipeline.plan import CaptionStyle
from pipeline.platforms import SafeZone

HOLD_S = 0.4  # keep a page up this long after its last word unless the next page starts


@dataclass(frozen=True)
class CaptionSprite:
    rgb: Tensor  # (3, h, w) premultiplied by alpha
    alpha: Tensor  # (1, h, w)
    top: int
    left: int


@lru_cache(maxsize=32)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    if not Path(path).is_file():
        raise InvalidInputError("captions.font", f"font file not found: {path}")
    return ImageFont.truetype(path, size)


class CaptionLayer:
    """Finds the page and active word at a time and draws (and caches) that state as a sprite."""

    def __init__(
        self,
        pages: tuple[CaptionPage, ...],
        style: CaptionStyle,
        safe: SafeZone,
        width: int,
        height: int,
        device: torch.device,
    ) -> None:
        self.pages, self.style, self.safe = pages, style, safe
        self.width, self.height, self.device = width, height, device
        self._starts = [p.start for p in pages]
        self._cache: dict[tuple[int, int], CaptionSprite] = {}

    def state_at(self, t: float) -> tuple[int, int] | None:
        """(page index, active word index) shown at time t, or None between pages."""
        i = bisect.bisect_right(self._starts, t + 1e-9) - 1
        if i < 0:
            return None
        page = self.pages[i]
        shown_until = page.end + HOLD_S
        if i + 1 < len(self.pages):
            shown_until = min(shown_until, self.pages[i + 1].start)
        if t >= shown_until:
            return None
        starts = [w.start for w in page.words]
        return i, max(0, bisect.bisect_right(starts, t + 1e-9) - 1)

    def sprite(self, page_index: int, word_index: int) -> CaptionSprite:
        key = (page_index, word_index)
        if key not in self._cache:
            self._cache[key] = self._draw(self.pages[page_index], word_index)
        return self._cache[key]

    def image(self, page_index: int, word_index: int) -> tuple[np.ndarray, int, int]:
        """A caption state drawn as (h, w, 4) RGBA bytes (not premultiplied), with its top and left in the frame."""
        return self._image(self.pages[page_index], word_index)

    def _draw(self, page: CaptionPage, active: int) -> CaptionSprite:
        rgba, top, left = self._image(page, active)
        arr = torch.from_numpy(rgba.astype(np.float32) / 255.0).permute(2, 0, 1)
        alpha = arr[3:4]
        rgb = arr[:3] * alpha
        return CaptionSprite(rgb.to(self.device), alpha.to(self.device), top, left)

    def _image(self, page: CaptionPage, active: int) -> tuple[np.ndarray, int, int]:
        st, W, H, sz = self.style, self.width, self.height, self.safe
        box_w = int(W * (1 - sz.left - sz.right))
        size = max(8, round(st.size * W))
        words = [w.word.upper() if st.uppercase else w.word for w in page.words]
        while True:  # shrink until the widest line fits the safe width
            font = _font(st.font, size)
            space = font.getlength(" ")
            widths = [font.getlength(w) for w in words]
            line_w = [sum(widths[j] for j in line) + space * (len(line) - 1) for line in page.lines]
            if max(line_w) <= box_w * 0.96 or size <= 8:
                break
            size = max(8, int(size * 0.9))
        stroke = max(1, round(st.stroke * size))
        line_h = int(size * 1.22)
        pad = stroke + max(2, size // 12)
        img_h = line_h * len(page.lines) + 2 * pad
        img = Image.new("RGBA", (box_w, img_h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(img)
        base, hi = ImageColor.getrgb(st.color), ImageColor.getrgb(st.highlight)
        outline = ImageColor.getrgb(st.stroke_color)
        for li, line in enumerate(page.lines):
            x = (box_w - line_w[li]) / 2
            y = pad + li * line_h
            for j in line:
                if st.shadow:
                    off = max(1, size // 18)
                    draw.text(
                        (x + off, y + off),
                        words[j],
                        font=font,
                        fill=(0, 0, 0, 140),
                        stroke_width=stroke,
                        stroke_fill=(0, 0, 0, 140),
                    )
                draw.text(
                    (x, y),
                    words[j],
                    font=font,
                    fill=(*(hi if j == active else base), 255),
                    stroke_width=stroke,
                    stroke_fill=(*outline, 255),
                )
                x += widths[j] + space
                give_way()
        top_min, bottom_max = int(H * sz.top), int(H * (1 - sz.bottom))
        top = int(st.y * H - img_h / 2)
        top = max(top_min, min(top, bottom_max - img_h))
        left = int(W * sz.left)
        return np.asarray(img), top, left
