"""Per-user submission limit: a fixed window counted in Redis, shared by every API replica."""

from __future__ import annotations

from typing import Any

from actors.job_store import PREFIX

# KEYS[1] counter; ARGV: cost, limit, window seconds. Returns {allowed (1/0), seconds until the window resets}.
_TAKE = """
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]); ttl = tonumber(ARGV[3]) end
if n > tonumber(ARGV[2]) then
  redis.call('DECRBY', KEYS[1], ARGV[1])
  return {0, ttl}
end
return {1, ttl}
"""


class RateLimiter:
    def __init__(self, r: Any, per_window: int, window_s: int = 60, prefix: str = PREFIX) -> None:
        self.per_window, self.window_s, self.p = per_window, window_s, prefix
        self._take = r.register_script(_TAKE)

    def take(self, user_id: str, cost: int = 1) -> int:
        """0 when `cost` submissions are allowed now; otherwise the seconds to wait (for Retry-After)."""
        allowed, ttl = self._take(keys=[f"{self.p}ratelimit:{user_id}"], args=[cost, self.per_window, self.window_s])
        return 0 if allowed else max(1, int(ttl))
