"""Settings read once from the environment (REELS_*, OPENAI_*) and an optional .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
