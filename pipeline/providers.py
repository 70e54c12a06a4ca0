"""Chooses the script writer and speech engine from plain configuration values (picklable, so Ray workers get
the same choice as the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import InvalidInputError
from pipeline.script import WORDS_PER_MINUTE, ScriptWriter
from pipeline.speech.base import SpeechEngine
from pipeline.speech.espeak import EspeakEngine
from pipeline.writers.from_file import FileScriptWriter
from pipeline.writers.offline import OfflineWriter


@dataclass(frozen=True)
class ProviderConfig:
    script_writer: str = "auto"  # auto | offline | llm
    speech_engine: str = "espeak"  # espeak | coqui | openai
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    llm_model: str = "gpt-4o-mini"
    tts_model: str = "gpt-4o-mini-tts"
    openai_timeout_s: float = 60.0
    openai_max_retries: int = 1
    coqui_model_path: str | None = None
    coqui_config_path: str | None = None
    device: str = "cpu"

    @property
    def llm_configured(self) -> bool:
        return self.openai_base_url is not None or self.openai_api_key is not None

    def __repr__(self) -> str:  # never print the key
        return f"ProviderConfig(writer={self.script_writer}, speech={self.speech_engine}, url={self.openai_base_url})"


def openai_client(cfg: ProviderConfig) -> Any:
    import openai

    return openai.OpenAI(
        base_url=cfg.openai_base_url,
        api_key=cfg.openai_api_key or "not-needed",
        timeout=cfg.openai_timeout_s,
        max_retries=cfg.openai_max_retries,
    )


def make_writer(cfg: ProviderConfig, script_file: str | Path | None = None) -> ScriptWriter:
    if script_file is not None:
        return FileScriptWriter(script_file)
    if cfg.script_writer == "llm" or (cfg.script_writer == "auto" and cfg.llm_configured):
        from pipeline.writers.llm import LLMWriter

        return LLMWriter(openai_client(cfg), cfg.llm_model)
    return OfflineWriter()


def speech_pace(cfg: ProviderConfig, name: str | None = None) -> float:
    """Words a minute of the engine that will speak a script (without starting it): scripts are written to it."""
    return EspeakEngine.words_per_minute if (name or cfg.speech_engine) == "espeak" else WORDS_PER_MINUTE


def make_engine(cfg: ProviderConfig, name: str | None = None) -> SpeechEngine:
    engine = name or cfg.speech_engine
    if engine == "espeak":
        return EspeakEngine()
    if engine == "openai":
        from pipeline.speech.openai_tts import OpenAISpeechEngine

        return OpenAISpeechEngine(openai_client(cfg), cfg.tts_model)
    if engine == "coqui":
        if cfg.coqui_model_path is None or cfg.coqui_config_path is None:
            raise InvalidInputError("REELS_COQUI_MODEL_PATH", "set REELS_COQUI_MODEL_PATH and REELS_COQUI_CONFIG_PATH")
        from pipeline.speech.coqui import CoquiEngine

        return CoquiEngine(cfg.coqui_model_path, cfg.coqui_config_path, cfg.device)
    raise InvalidInputError("--engine", f"unknown speech engine {engine!r} (choose from espeak, coqui, openai)")
