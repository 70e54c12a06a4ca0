"""Coqui TTS (`coqui-tts`, imported as `TTS`): an optional neural voice from a local model checkpoint.

`TTS` is imported only inside methods, so this module imports (and the rest of the pipeline runs) without it.
coqui-tts needs torchaudio, which does not load beside the main environment's CPU torch 2.13; it lives in its
own environment made by `scripts/install-tts.sh` (`.venv-tts`, torch 2.9.1 + torchaudio 2.9.1 + coqui-tts 0.28).

Speaking rate: models with a duration scale (VITS, Glow-TTS, FastPitch/FastSpeech, AlignTTS, Delightful-TTS:
`length_scale`) take `length_scale = base / rate`; models whose inference takes `speed` (XTTS) get `speed=rate`.
Other models (e.g. Tacotron) ignore `rate`: it is not faked by resampling, which would shift the pitch.
"""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import limits
from pipeline.errors import InvalidInputError, InvalidMediaError, MissingToolError
from pipeline.script import WORDS_PER_MINUTE
from pipeline.speech.base import Narration, Progress, Voice, assemble

INSTALL_HINT = (
    "it needs its own environment (torchaudio does not load beside the main torch): "
    "run `bash scripts/install-tts.sh`, then use `.venv-tts/bin/reels`"
)
DEFAULT_VOICE = "default"


class CoquiEngine:
    name = "coqui"
    words_per_minute = WORDS_PER_MINUTE  # depends on the model; a typical narrator

    def __init__(self, model_path: str, config_path: str, device: str = "cpu") -> None:
        self.model_path = str(model_path)
        self.config_path = str(config_path)
        self.device = device
        self._check_files()
        self._tts: Any = None  # TTS.api.TTS, loaded on first use and kept
        self._base_length_scale: float | None = None
        self._lock = threading.Lock()

    def _check_files(self) -> None:
        for path, what in ((self.model_path, "model checkpoint"), (self.config_path, "model config")):
            p = Path(path)
            if not p.exists():
                raise InvalidMediaError(path, f"Coqui TTS {what} not found")
            if p.is_file() and p.stat().st_size == 0:
                raise InvalidMediaError(path, f"Coqui TTS {what} is empty")

    def _load(self) -> Any:
        if self._tts is not None:
            return self._tts
        with self._lock:
            if self._tts is not None:
                return self._tts
            self._check_files()
            try:
                from TTS.api import TTS
            except (ImportError, OSError, RuntimeError) as e:  # absent, or torchaudio unloadable beside this torch
                raise MissingToolError("coqui-tts", f"{INSTALL_HINT} ({type(e).__name__}: {e})") from None
            try:
                json.loads(Path(self.config_path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
                raise InvalidMediaError(self.config_path, f"not a readable Coqui TTS config ({e})") from None
            if self.device.startswith("cuda"):
                import torch

                if not torch.cuda.is_available():
                    raise InvalidInputError("device", f"{self.device!r} requested but no CUDA device is available")
            try:
                tts = TTS(model_path=self.model_path, config_path=self.config_path, progress_bar=False).to(self.device)
            except Exception as e:  # a corrupt or mismatched checkpoint fails deep inside TTS/torch in many ways
                raise InvalidMediaError(
                    self.model_path, f"cannot load Coqui TTS model ({type(e).__name__}: {e})"
                ) from e
            model = tts.synthesizer.tts_model
            scale = getattr(model, "length_scale", None)
            self._base_length_scale = float(scale) if isinstance(scale, int | float) else None
            self._tts = tts
            return tts

    def _language(self, tts: Any) -> str | None:
        """The language to pass: only multi-lingual models take one (English where offered)."""
        if not tts.is_multi_lingual:
            return None
        langs = list(tts.languages or [])
        return "en" if "en" in langs else (langs[0] if langs else None)

    def _voice_language(self, tts: Any) -> str:
        lang = self._language(tts)
        if lang:
            return str(lang)
        manager = getattr(tts.synthesizer.tts_model, "language_manager", None)
        names = list(getattr(manager, "language_names", None) or [])
        if names:
            return str(names[0])
        return str(tts.synthesizer.tts_config.get("phoneme_language") or "und")

    def _speaker(self, tts: Any, voice: str | None) -> str | None:
        speakers = list(tts.speakers or []) if tts.is_multi_speaker else []
        if not speakers:
            if voice not in (None, DEFAULT_VOICE):
                raise InvalidInputError("voice", f"this Coqui model has one voice, {DEFAULT_VOICE!r}; got {voice!r}")
            return None
        if voice is None or voice == DEFAULT_VOICE:
            return str(speakers[0])
        if voice not in speakers:
            raise InvalidInputError("voice", f"unknown Coqui speaker {voice!r} (see `reels voices --engine coqui`)")
        return voice

    def synthesize(
        self, sentences: Sequence[str], voice: str | None, rate: float, progress: Progress | None = None
    ) -> Narration:
        limits.SPEECH_RATE.check("rate", rate)
        tts = self._load()
        speaker = self._speaker(tts, voice)
        language = self._language(tts)
        model = tts.synthesizer.tts_model
        extra: dict[str, Any] = {}
        if self._base_length_scale is None and "speed" in inspect.signature(model.inference).parameters:
            extra["speed"] = rate

        def synth(sentence: str) -> np.ndarray:
            wav = tts.tts(text=sentence, speaker=speaker, language=language, split_sentences=False, **extra)
            return np.asarray(wav, dtype=np.float32).reshape(-1)

        with self._lock:  # length_scale lives on the shared model: one synthesis at a time per engine
            if self._base_length_scale is not None:
                model.length_scale = self._base_length_scale / rate
            try:
                return assemble(sentences, synth, int(tts.synthesizer.output_sample_rate), progress)
            finally:
                if self._base_length_scale is not None:
                    model.length_scale = self._base_length_scale

    def voices(self) -> list[Voice]:
        tts = self._load()
        language = self._voice_language(tts)
        speakers = list(tts.speakers or []) if tts.is_multi_speaker else []
        if not speakers:
            return [Voice(id=DEFAULT_VOICE, name=Path(self.model_path).stem, language=language, engine=self.name)]
        return [Voice(id=str(s), name=str(s), language=language, engine=self.name) for s in speakers]
