"""Plain values the API needs, built once by cluster/ from Settings (and by tests directly)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.providers import ProviderConfig


@dataclass(frozen=True)
class ApiConfig:
    redis_url: str
    data_dir: str
    providers: ProviderConfig = field(default_factory=ProviderConfig)
    submit_per_minute: int = 1200  # per user: a client may submit 1,000 jobs in one burst (docs/api.md)
    max_body_bytes: int = 1_048_576
    link_secret: str | None = None  # unset: generated once and kept in Redis
    link_ttl_s: int = 3600
    task_modules: tuple[str, ...] = ()  # extra task types (tests)
    ws_auth_timeout_s: float = 3.0  # a WebSocket that has not sent its token by then is closed
    keepalive_s: float = 15.0
    max_streams: int = 160  # live WebSocket + SSE streams per replica (its max_ongoing_requests is 256)
    max_streams_per_user: int = 8
    max_queued_per_user: int = 1000  # unfinished jobs of one user: a 1,000-job burst fits
    max_render_minutes_per_user: float = 120.0  # minutes of reel one user's unfinished jobs may render
    max_running_per_user: int = 32  # jobs of one user running at once; the next wait their turn
    max_user_priority: int = 8  # the highest priority a user's job may have; admins may use up to 10
    auth_recheck_s: float = 5.0  # how often a live stream checks that its token still works
