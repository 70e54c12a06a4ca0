"""Plain values the API needs, built once by cluster/ from Settings (and by tests directly)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.providers import ProviderConfig


@dataclass(frozen=True)
class ApiConfig:
    redis_url: str
    data_dir: str
    providers: ProviderConfig = field(default_factory=ProviderConfig)
    submit_per_minute: int = 1200  # per user; the seed's 1,000-submission load test fits in one window
    max_body_bytes: int = 1_048_576
    link_secret: str | None = None  # unset: generated once and kept in Redis
    link_ttl_s: int = 3600
    task_modules: tuple[str, ...] = ()  # extra task types (tests)
    ws_auth_timeout_s: float = 10.0
    keepalive_s: float = 15.0
