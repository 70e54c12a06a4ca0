"""Narration (audio + word timings) and the sentence-by-sentence assembly every engine shares."""

from __future__ import annotations

import re
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.captions import WordTiming
from pipeline.errors import InvalidMediaError
from pipeline.progress import Progress

SENTENCE_PAUSE_S = 0.22


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    language: str
    engine: str


@dataclass
class Narration:
    audio: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    words: list[WordTiming]

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


class SpeechEngine(Protocol):
    name: str
    words_per_minute: float  # its pace at rate 1.0, pauses apart: what a script's length is planned with

    def synthesize(
        self, sentences: Sequence[str], voice: str | None, rate: float, progress: Progress | None = None
    ) -> Narration: ...

    def voices(self) -> list[Voice]: ...


def trim_silence(audio: np.ndarray, sample_rate: int, threshold: float = 0.01) -> np.ndarray:
    """Cut leading and trailing near-silence, keeping 20 ms of air at each end."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio[:0]
    pad = int(0.02 * sample_rate)
    return audio[max(0, loud[0] - pad) : loud[-1] + pad + 1]


def _weight(word: str) -> float:
    """Spoken length of a word relative to others: vowel groups, plus a pause after punctuation."""
    core = re.sub(r"[^A-Za-z0-9]", "", word)
    syll = max(1, len(re.findall(r"[aeiouyAEIOUY]+", core))) if core.isalpha() else max(1, len(core) // 2)
    return syll + 0.35 + (0.6 if word[-1:] in ",;:" else 0.0)


def word_timings(
    sentence: str, start: float, duration: float, weights: Sequence[float] | None = None
) -> list[WordTiming]:
    """Times of the words in one synthesised sentence: its real duration shared by spoken weight.

    `weights` are the words' relative spoken lengths (e.g. measured by the engine); vowel groups otherwise.
    """
    words = sentence.split()
    if weights is None or len(weights) != len(words):
        weights = [_weight(w) for w in words]
    total = sum(weights) or 1.0
    out, t = [], start
    for w, wt in zip(words, weights, strict=True):
        d = duration * wt / total
        out.append(WordTiming(w, round(t, 3), round(t + d, 3)))
        t += d
    return out


def pauses(audio: np.ndarray, sample_rate: int, min_s: float = 0.05) -> list[tuple[float, float]]:
    """Silent spans (start, end) in seconds longer than `min_s`: a 20 ms envelope under 2 % of the peak."""
    if audio.size == 0:
        return []
    win = max(1, int(0.02 * sample_rate))
    env = np.convolve(np.abs(audio), np.ones(win) / win, mode="same")
    quiet = np.concatenate([[False], env < 0.02 * float(env.max() or 1.0), [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    spans = zip(edges[::2], edges[1::2], strict=True)
    return [(float(a / sample_rate), float(b / sample_rate)) for a, b in spans if (b - a) / sample_rate >= min_s]


def snap_to_pauses(words: list[WordTiming], spans: list[tuple[float, float]], reach: float = 0.2) -> list[WordTiming]:
    """Move each boundary between two words onto a pause heard near it, so highlights start with the voice."""
    out = list(words)
    free = list(spans)
    for i in range(len(out) - 1):
        boundary = out[i].end
        near = [p for p in free if abs((p[0] + p[1]) / 2 - boundary) <= reach]
        if not near:
            continue
        a, b = min(near, key=lambda p: abs((p[0] + p[1]) / 2 - boundary))
        free.remove((a, b))
        if out[i].start < a and b < out[i + 1].end:
            out[i] = WordTiming(out[i].word, out[i].start, round(a, 3))
            out[i + 1] = WordTiming(out[i + 1].word, round(b, 3), out[i + 1].end)
    return out


def assemble(
    sentences: Sequence[str],
    synth: Callable[[str], np.ndarray],
    sample_rate: int,
    progress: Progress | None = None,
    weigh: Callable[[str], Sequence[float]] | None = None,
) -> Narration:
    """Synthesise each sentence, trim it, join with short pauses, and time its words."""
    pieces: list[np.ndarray] = []
    words: list[WordTiming] = []
    pause = np.zeros(int(SENTENCE_PAUSE_S * sample_rate), dtype=np.float32)
    t = 0.0
    for i, sentence in enumerate(sentences):
        audio = trim_silence(np.asarray(synth(sentence), dtype=np.float32), sample_rate)
        if audio.size == 0:
            continue
        if pieces:
            pieces.append(pause)
            t += len(pause) / sample_rate
        duration = len(audio) / sample_rate
        timed = word_timings(sentence, 0.0, duration, weigh(sentence) if weigh else None)
        timed = snap_to_pauses(timed, pauses(audio, sample_rate))
        words.extend(WordTiming(w.word, round(w.start + t, 3), round(w.end + t, 3)) for w in timed)
        pieces.append(audio)
        t += duration
        if progress:
            progress((i + 1) / len(sentences), f"speech {i + 1}/{len(sentences)}")
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return Narration(audio, sample_rate, words)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    channels = 1 if pcm.ndim == 1 else pcm.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV -> float32 mono."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                raise InvalidMediaError(str(path), f"{8 * w.getsampwidth()}-bit WAV; expected 16-bit PCM")
            raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
            audio = raw.reshape(-1, w.getnchannels()).mean(axis=1).astype(np.float32) / 32768.0
            return audio, w.getframerate()
    except (wave.Error, EOFError) as e:
        raise InvalidMediaError(str(path), f"not a readable WAV file ({e})") from None
