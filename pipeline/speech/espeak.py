"""espeak-ng: the offline default voice."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline import limits
from pipeline.errors import InvalidInputError, MissingToolError
from pipeline.speech.base import Narration, Progress, Voice, assemble, read_wav, trim_silence

BASE_WPM = 170
INSTALL_HINT = "install it with: sudo apt-get install espeak-ng (or run scripts/install.sh)"


class EspeakEngine:
    name = "espeak"
    # Measured on offline scripts of 45-150 words: 190-202 words a minute at -s 170 (silences trimmed).
    words_per_minute = 195.0

    def __init__(self, binary: str = "espeak-ng") -> None:
        self.binary = binary

    def _exe(self) -> str:
        exe = shutil.which(self.binary)
        if exe is None:
            raise MissingToolError("espeak-ng", INSTALL_HINT)
        return exe

    def synthesize(
        self, sentences: Sequence[str], voice: str | None, rate: float, progress: Progress | None = None
    ) -> Narration:
        limits.SPEECH_RATE.check("rate", rate)
        exe, v = self._exe(), voice or "en-us"
        known = {x.id for x in self.voices()}
        if v not in known:
            raise InvalidInputError("voice", f"unknown espeak-ng voice {v!r} (see `reels voices`)")
        with tempfile.TemporaryDirectory(prefix="reels-espeak-") as tmp:
            out = Path(tmp) / "s.wav"

            def synth(sentence: str) -> np.ndarray:
                cmd = [exe, "-v", v, "-s", str(round(BASE_WPM * rate)), "-w", str(out), "--", sentence]
                subprocess.run(cmd, check=True, capture_output=True, timeout=60)
                return read_wav(out)[0]

            lengths: dict[str, float] = {}

            def weigh(sentence: str) -> list[float]:
                """Each word's length when spoken alone (espeak is fast: ~5 ms a word), plus comma pauses."""
                out = []
                for word in sentence.split():
                    key = word.strip(".,;:!?\"'()").lower() or word
                    if key not in lengths:
                        lengths[key] = len(trim_silence(synth(key), sample_rate)) / sample_rate
                    out.append(lengths[key] + (0.15 if word[-1:] in ",;:" else 0.0))
                return out

            sample_rate = self._probe_rate(exe, v, Path(tmp))
            return assemble(sentences, synth, sample_rate, progress, weigh)

    def _probe_rate(self, exe: str, voice: str, tmp: Path) -> int:
        out = tmp / "probe.wav"
        subprocess.run([exe, "-v", voice, "-w", str(out), "--", "a"], check=True, capture_output=True, timeout=60)
        return read_wav(out)[1]

    def voices(self) -> list[Voice]:
        proc = subprocess.run([self._exe(), "--voices"], capture_output=True, text=True, check=True, timeout=30)
        out = []
        for line in proc.stdout.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 4:
                out.append(Voice(id=parts[1], name=parts[3], language=parts[1], engine=self.name))
        return out
