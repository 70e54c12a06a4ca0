"""OpenAI (or any OpenAI-compatible) text-to-speech, sentence by sentence as raw 24 kHz PCM."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openai

from pipeline.errors import InvalidInputError, ProviderError
from pipeline.openai_errors import PROVIDER, provider_errors
from pipeline.script import WORDS_PER_MINUTE
from pipeline.speech.base import Narration, Progress, Voice, assemble

PCM_SAMPLE_RATE = 24_000  # response_format="pcm" is 24 kHz signed 16-bit little-endian mono
DEFAULT_VOICE = "alloy"
VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)


class OpenAISpeechEngine:
    name = "openai"
    words_per_minute = WORDS_PER_MINUTE  # OpenAI's voices speak at about a narrator's pace

    def __init__(self, client: openai.OpenAI, model: str = "gpt-4o-mini-tts") -> None:
        self.client = client
        self.model = model

    def synthesize(
        self, sentences: Sequence[str], voice: str | None, rate: float, progress: Progress | None = None
    ) -> Narration:
        if not 0.25 <= rate <= 4.0:
            raise InvalidInputError("rate", f"{rate} is outside 0.25–4.0")
        v = voice or DEFAULT_VOICE
        if v not in VOICES:
            raise InvalidInputError("voice", f"unknown OpenAI voice {v!r}; choose from {', '.join(VOICES)}")

        def synth(sentence: str) -> np.ndarray:
            with provider_errors(self.client):
                response = self.client.audio.speech.create(
                    model=self.model, voice=v, input=sentence, response_format="pcm", speed=rate
                )
                pcm = response.read()
            if len(pcm) % 2:
                raise ProviderError(
                    PROVIDER, "malformed", f"speech for {sentence[:40]!r} is {len(pcm)} bytes, not 16-bit PCM"
                )
            return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0

        return assemble(sentences, synth, PCM_SAMPLE_RATE, progress)

    def voices(self) -> list[Voice]:
        return [Voice(id=v, name=v.capitalize(), language="multilingual", engine=self.name) for v in VOICES]
