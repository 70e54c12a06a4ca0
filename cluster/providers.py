"""Chooses the script writer and speech engine from settings (the only place that decides)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cluster.settings import Settings
from pipeline.errors import InvalidInputError
from pipeline.script import ScriptWriter
from pipeline.speech.base import SpeechEngine
from pipeline.speech.espeak import EspeakEngine
from pipeline.writers.from_file import FileScriptWriter
from pipeline.writers.offline import OfflineWriter


def openai_client(settings: Settings) -> Any:
    import openai

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return openai.OpenAI(
        base_url=settings.openai_base_url,
        api_key=key,
        timeout=settings.openai_timeout_s,
        max_retries=settings.openai_max_retries,
    )


def make_writer(settings: Settings, script_file: str | Path | None = None) -> ScriptWriter:
    if script_file is not None:
        return FileScriptWriter(script_file)
    if settings.script_writer == "llm" or (settings.script_writer == "auto" and settings.llm_configured):
        from pipeline.writers.llm import LLMWriter

        return LLMWriter(openai_client(settings), settings.llm_model)
    return OfflineWriter()


def make_engine(settings: Settings, name: str | None = None) -> SpeechEngine:
    engine = name or settings.speech_engine
    if engine == "espeak":
        return EspeakEngine()
    if engine == "openai":
        from pipeline.speech.openai_tts import OpenAISpeechEngine

        return OpenAISpeechEngine(openai_client(settings), settings.tts_model)
    if engine == "coqui":
        if settings.coqui_model_path is None or settings.coqui_config_path is None:
            raise InvalidInputError("REELS_COQUI_MODEL_PATH", "set REELS_COQUI_MODEL_PATH and REELS_COQUI_CONFIG_PATH")
        from pipeline.speech.coqui import CoquiEngine

        return CoquiEngine(str(settings.coqui_model_path), str(settings.coqui_config_path), settings.device)
    raise InvalidInputError("--engine", f"unknown speech engine {engine!r} (choose from espeak, coqui, openai)")
