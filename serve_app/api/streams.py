"""How many live streams (WebSocket and SSE) a replica holds: in total and per user, so streams can never take the
request slots that health checks and other requests need."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

UNAUTHENTICATED = ""  # a WebSocket still waiting for its token


class TooManyStreams(Exception):
    pass


class StreamGate:
    """Counts the streams open in this process; a new one over a cap is refused while older ones keep working."""

    def __init__(self, total: int, per_user: int) -> None:
        self.total, self.per_user = total, per_user
        self.open: dict[str, int] = {}

    def count(self, user: str | None = None) -> int:
        return sum(self.open.values()) if user is None else self.open.get(user, 0)

    @contextlib.contextmanager
    def hold(self, user: str) -> Iterator[None]:
        """One stream of `user` for the duration of the block; TooManyStreams (with the reason) over a cap."""
        if self.count() >= self.total:
            raise TooManyStreams(f"too many live streams on this server ({self.total}); retry shortly")
        if user != UNAUTHENTICATED and self.count(user) >= self.per_user:
            raise TooManyStreams(f"you have {self.per_user} live streams open, the most one user may have")
        self.open[user] = self.open.get(user, 0) + 1
        try:
            yield
        finally:
            self.open[user] -= 1
            if not self.open[user]:
                del self.open[user]
