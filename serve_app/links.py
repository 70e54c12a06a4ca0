"""Signed, expiring download links, so a <video> element or a plain curl can fetch a file without a header."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from actors.job_store import PREFIX


def signing_key(r: Any, configured: str | None, prefix: str = PREFIX) -> bytes:
    """The configured secret, or one generated once and kept in Redis (shared by every replica, never in the repo)."""
    if configured:
        return configured.encode()
    r.setnx(f"{prefix}link_secret", secrets.token_hex(32))
    return str(r.get(f"{prefix}link_secret")).encode()


class LinkSigner:
    def __init__(self, key: bytes, ttl_s: int = 3600) -> None:
        self.key, self.ttl_s = key, ttl_s

    def _sig(self, path: str, expires: int) -> str:
        return hmac.new(self.key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def sign(self, path: str, now: float | None = None) -> str:
        expires = int((now or time.time()) + self.ttl_s)
        return f"{path}?expires={expires}&sig={self._sig(path, expires)}"

    def verify(self, path: str, expires: int, sig: str, now: float | None = None) -> bool:
        if expires < (now or time.time()):
            return False
        return hmac.compare_digest(self._sig(path, expires).encode(), sig.encode())  # bytes: any input is safe
