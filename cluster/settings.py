"""Settings read once from the environment (REELS_*, OPENAI_*) and an optional .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from actors.queues import DEFAULT_SLOTS, parse_slots
from actors.registry import RuntimeConfig
from pipeline.errors import InvalidInputError
from pipeline.providers import ProviderConfig
from serve_app.config import ApiConfig


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

    # The job system: Redis, Ray and the queues.
    redis_url: str | None = None  # unset: `reels worker` starts a local redis-server in data_dir/redis
    data_dir: Path = Path("reels-data")  # artifacts, outputs, work folders, the local Redis
    ray_address: str | None = None  # join a running cluster ("auto" or host:port); unset: start Ray locally
    queue_slots: str = ""  # e.g. "video=4,gpu=1": what this machine advertises (defaults in actors/queues.py)
    allow_gpu_on_cpu: bool = False  # let gpu-queue jobs run on a machine without a GPU
    dashboard: bool = False  # a local start also runs the Ray dashboard (port 8265; its metrics include ours)
    metrics_port: int | None = Field(None, ge=1, le=65535)  # where Prometheus scrapes this node's Ray metrics

    # The HTTP API.
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_submit_per_minute: int = Field(1200, ge=1)  # per user
    api_max_body_bytes: int = Field(1_048_576, ge=1024)
    api_link_secret: SecretStr | None = None  # signs download links; unset: generated once, kept in Redis
    api_max_replicas: int = Field(2, ge=1)
    api_body_timeout_s: float = Field(10.0, gt=0, le=600)  # enforced in Serve's HTTP proxy: cluster/proxy_rules.py
    api_max_streams: int = Field(160, ge=1, le=200)  # per replica: below its 256 ongoing requests, so short ones pass
    api_max_streams_per_user: int = Field(8, ge=1)
    api_ws_auth_timeout_s: float = Field(3.0, gt=0, le=60)
    api_max_user_priority: int = Field(8, ge=0, le=10)  # admins: up to 10
    api_max_queued_per_user: int = Field(1000, ge=1)  # an admin may set one user's own (PUT …/admin/users/ID/limits)
    api_max_render_minutes_per_user: float = Field(120.0, gt=0)
    api_max_running_per_user: int = Field(32, ge=1)
    local_redis_port: int = Field(6399, ge=1, le=65535)  # the redis-server started when REELS_REDIS_URL is unset

    coqui_model_path: Path | None = None
    coqui_config_path: Path | None = None

    @property
    def llm_configured(self) -> bool:
        return self.openai_base_url is not None or self.openai_api_key is not None

    def runtime(self, redis_url: str) -> RuntimeConfig:
        """What the Dispatcher and workers need, as plain values."""
        return RuntimeConfig(
            redis_url, str(self.data_dir.resolve()), self.providers(), self.render_segments, self.allow_gpu_on_cpu
        )

    def api(self, redis_url: str) -> ApiConfig:
        return ApiConfig(
            redis_url,
            str(self.data_dir.resolve()),
            self.providers(),
            submit_per_minute=self.api_submit_per_minute,
            max_body_bytes=self.api_max_body_bytes,
            link_secret=self.api_link_secret.get_secret_value() if self.api_link_secret else None,
            max_streams=self.api_max_streams,
            max_streams_per_user=self.api_max_streams_per_user,
            ws_auth_timeout_s=self.api_ws_auth_timeout_s,
            max_user_priority=self.api_max_user_priority,
            max_queued_per_user=self.api_max_queued_per_user,
            max_render_minutes_per_user=self.api_max_render_minutes_per_user,
            max_running_per_user=self.api_max_running_per_user,
        )

    def slots(self) -> dict[str, int]:
        try:
            slots = {**DEFAULT_SLOTS, **parse_slots(self.queue_slots)}
        except ValueError as e:
            raise InvalidInputError("REELS_QUEUE_SLOTS", str(e)) from None
        if self.allow_gpu_on_cpu and slots["gpu"] == 0:
            slots["gpu"] = 1  # gpu-queue jobs may run here on CPUs: advertise one slot for them
        return slots

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
