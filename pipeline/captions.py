"""Word timings, caption pages, and SRT/VTT/JSON caption files."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import InvalidMediaError


@dataclass(frozen=True)
class WordTiming:
    word: str
    start: float
    end: float

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> WordTiming:
        return cls(str(raw["word"]), float(raw["start"]), float(raw["end"]))


@dataclass(frozen=True)
class CaptionPage:
    """A group of words shown together, already broken into lines (tuples of word indexes)."""

    words: tuple[WordTiming, ...]
    lines: tuple[tuple[int, ...], ...]

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def text(self) -> str:
        return " ".join(w.word for w in self.words)


def paginate(
    words: list[WordTiming], max_chars_per_line: int = 18, max_lines: int = 2, max_gap: float = 0.8
) -> list[CaptionPage]:
    """Greedy line filling; a new page when lines run out, a sentence ends, or speech pauses."""
    pages: list[CaptionPage] = []
    cur: list[WordTiming] = []
    lines: list[list[int]] = []
    line_len = 0

    def flush() -> None:
        nonlocal cur, lines, line_len
        if cur:
            pages.append(CaptionPage(tuple(cur), tuple(tuple(line) for line in lines)))
        cur, lines, line_len = [], [], 0

    for w in words:
        if cur and (w.start - cur[-1].end > max_gap or cur[-1].word[-1:] in ".!?"):
            flush()
        need = len(w.word) + (1 if lines and lines[-1] else 0)
        if not lines or line_len + need > max_chars_per_line:
            if len(lines) == max_lines:
                flush()
            lines.append([])
            line_len = 0
            need = len(w.word)
        lines[-1].append(len(cur))
        cur.append(w)
        line_len += need
    flush()
    return pages


def _stamp(seconds: float, sep: str) -> str:
    ms = round(max(0.0, seconds) * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(pages: list[CaptionPage]) -> str:
    cues = []
    for i, p in enumerate(pages, 1):
        text = "\n".join(" ".join(p.words[j].word for j in line) for line in p.lines)
        cues.append(f"{i}\n{_stamp(p.start, ',')} --> {_stamp(p.end, ',')}\n{text}\n")
    return "\n".join(cues)


def to_vtt(pages: list[CaptionPage]) -> str:
    cues = ["WEBVTT\n"]
    for p in pages:
        text = "\n".join(" ".join(p.words[j].word for j in line) for line in p.lines)
        cues.append(f"{_stamp(p.start, '.')} --> {_stamp(p.end, '.')}\n{text}\n")
    return "\n".join(cues)


_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})")


def _seconds(stamp: str) -> float:
    m = _TIME.fullmatch(stamp.strip())
    if not m:
        raise ValueError(f"bad timestamp {stamp!r}")
    h, mnt, s, frac = m.groups()
    return int(h or 0) * 3600 + int(mnt) * 60 + int(s) + int(frac.ljust(3, "0")) / 1000


def _spread(text: str, start: float, end: float) -> list[WordTiming]:
    """Words of one cue share its time in proportion to their length (cues carry no word times)."""
    words = text.split()
    total = sum(len(w) + 1 for w in words) or 1
    out, t = [], start
    for w in words:
        d = (end - start) * (len(w) + 1) / total
        out.append(WordTiming(w, round(t, 3), round(t + d, 3)))
        t += d
    return out


def load_captions(path: str | Path) -> list[WordTiming]:
    """Word timings from an SRT, a WebVTT, or a JSON list of {word, start, end}."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidMediaError(str(p), "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidMediaError(str(p), f"cannot read captions ({e})") from None
    if not raw.strip():
        raise InvalidMediaError(str(p), "caption file is empty")
    try:
        words = _parse_json(raw) if raw.lstrip().startswith("[") else _parse_cues(raw)
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidMediaError(str(p), f"not valid SRT, VTT or JSON captions ({e})") from None
    if not words:
        raise InvalidMediaError(str(p), "no captions found")
    for a, b in itertools.pairwise(words):
        if b.start < a.start - 1e-6:
            raise InvalidMediaError(str(p), f"captions go back in time at {b.start:.3f} s ({b.word!r})")
    return words


def _parse_json(raw: str) -> list[WordTiming]:
    out = []
    for item in json.loads(raw):
        w = WordTiming.from_dict(item)
        if not w.word.strip() or w.end < w.start or w.start < 0:
            raise ValueError(f"bad word entry {item!r}")
        out.append(w)
    return out


def _parse_cues(raw: str) -> list[WordTiming]:
    out: list[WordTiming] = []
    for block in re.split(r"\n\s*\n", raw.replace("\r\n", "\n").strip()):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        arrow = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if arrow is None:
            continue  # WEBVTT header, NOTE or STYLE blocks, SRT counters alone
        a, b = lines[arrow].split("-->")
        start, end = _seconds(a), _seconds(b.split()[0])
        if end < start:
            raise ValueError(f"cue ends before it starts: {lines[arrow]!r}")
        text = re.sub(r"<[^>]+>", "", " ".join(lines[arrow + 1 :]))
        out.extend(_spread(text, start, end))
    return out
