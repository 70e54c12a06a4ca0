"""API users and their keys in Redis: tokens are shown once and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from actors.job_store import PREFIX
from pipeline.errors import InvalidInputError

Role = Literal["user", "admin"]
USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
TOKEN_PREFIX = "rg_"


@dataclass(frozen=True)
class User:
    id: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nobody can brute-force the preimage.
    return hashlib.sha256(token.encode()).hexdigest()


def check_user_id(user_id: str) -> str:
    if not USER_ID.match(user_id):
        raise InvalidInputError("user", f"{user_id!r}: use 1–64 letters, digits or _ . @ -")
    return user_id


def _apikey(prefix: str, token: str) -> str | None:
    """The key of the token's record; None for text that cannot be a token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return f"{prefix}apikey:{digest(token)}"


def _user(user_id: str, role: str | None) -> User | None:
    """The user a key belongs to; None when the user record is gone."""
    return User(user_id, "admin" if role == "admin" else "user") if role else None


class UserStore:
    def __init__(self, r: Any, prefix: str = PREFIX) -> None:
        self.r, self.p = r, prefix

    def create(self, user_id: str, role: Role = "user") -> str:
        """Create the user (or give an existing one another key); returns the new token, which is never stored."""
        check_user_id(user_id)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        key = digest(token)
        with self.r.pipeline(transaction=True) as tx:
            tx.hsetnx(f"{self.p}user:{user_id}", "created", time.time())
            tx.hset(f"{self.p}user:{user_id}", "role", role)
            tx.hset(f"{self.p}apikey:{key}", mapping={"user": user_id, "created": time.time()})
            tx.sadd(f"{self.p}user:{user_id}:keys", key)
            tx.sadd(f"{self.p}users", user_id)
            tx.execute()
        return token

    def authenticate(self, token: str) -> User | None:
        key = _apikey(self.p, token)
        user_id = self.r.hget(key, "user") if key else None
        if user_id is None:
            return None
        return _user(user_id, self.r.hget(f"{self.p}user:{user_id}", "role"))

    def revoke(self, user_id: str) -> int:
        """Revoke every key of the user; returns how many there were."""
        keys = self.r.smembers(f"{self.p}user:{user_id}:keys")
        with self.r.pipeline(transaction=True) as tx:
            for k in keys:
                tx.delete(f"{self.p}apikey:{k}")
            tx.delete(f"{self.p}user:{user_id}:keys")
            tx.execute()
        return len(keys)

    def limits(self, user_id: str) -> dict[str, float]:
        """The user's own quota overrides (admin-set); what is not here is the server's default."""
        names = ("max_queued", "max_render_minutes", "max_running")
        raw = self.r.hmget(f"{self.p}user:{user_id}", *names)
        return {k: float(v) for k, v in zip(names, raw, strict=True) if v is not None}

    def set_limits(self, user_id: str, values: dict[str, float | None]) -> None:
        """Override the user's quota (None: back to the server's default)."""
        key = f"{self.p}user:{user_id}"
        with self.r.pipeline(transaction=True) as tx:
            for name, value in values.items():
                if value is None:
                    tx.hdel(key, name)
                else:
                    tx.hset(key, name, value)
            tx.execute()

    def list(self) -> list[dict[str, Any]]:
        out = []
        for uid in sorted(self.r.smembers(f"{self.p}users")):
            role = self.r.hget(f"{self.p}user:{uid}", "role") or "user"
            out.append({"user": uid, "role": role, "keys": self.r.scard(f"{self.p}user:{uid}:keys")})
        return out


class AsyncUserStore:
    """UserStore's token check on an asyncio connection, for the live streams: they run on the event loop, which a
    blocking Redis call would stall for every stream of the replica."""

    def __init__(self, r: Any, prefix: str = PREFIX) -> None:
        self.r, self.p = r, prefix

    async def authenticate(self, token: str) -> User | None:
        key = _apikey(self.p, token)
        user_id = await self.r.hget(key, "user") if key else None
        if user_id is None:
            return None
        return _user(user_id, await self.r.hget(f"{self.p}user:{user_id}", "role"))
