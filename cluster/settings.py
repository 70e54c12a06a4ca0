"""Settings read once from the environment (REELS_*, OPENAI_*) and an optional .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.providers import ProviderConfig


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELS_", env_file=".env", extra="ignore")

    platform: str = "tiktok"
    output_dir: Path = Path("reels-out")
    script_writer: Literal["auto", "offline", "llm"] = "auto"
    speech_engine: Literal["espeak", "coqui", "openai"] = "espeak"
    voice: str | None = None
    speech_rate: float = Field(1.0, ge=0.5, le=2.0)
    device: str = "cpu"
    render_segments: int = Field(1, ge=1, le=64)
    music: Path | None = None

    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("OPENAI_BASE_URL", "REELS_OPENAI_BASE_URL"))
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "REELS_OPENAI_API_KEY")
    )
    llm_model: str = "gpt-4o-mini"
    tts_model: str = "gpt-4o-mini-tts"
    openai_timeout_s: float = Field(60.0, gt=0)
    openai_max_retries: int = Field(1, ge=0, le=10)

    coqui_model_path: Path | None = None
    coqui_config_path: Path | None = None

    @property
    def llm_configured(self) -> bool:
        return self.openai_base_url is not None or self.openai_api_key is not None

    def providers(self) -> ProviderConfig:
        """The plain values pipeline/ and Ray workers need to pick a writer and a voice."""
        return ProviderConfig(
            script_writer=self.script_writer,
            speech_engine=self.speech_engine,
            openai_base_url=self.openai_base_url,
            openai_api_key=self.openai_api_key.get_secret_value() if self.openai_api_key else None,
            llm_model=self.llm_model,
            tts_model=self.tts_model,
            openai_timeout_s=self.openai_timeout_s,
            openai_max_retries=self.openai_max_retries,
            coqui_model_path=str(self.coqui_model_path) if self.coqui_model_path else None,
            coqui_config_path=str(self.coqui_config_path) if self.coqui_config_path else None,
            device=self.device,
        )
