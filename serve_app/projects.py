"""Projects: a user's saved topic, audience, platform and style, numbered per user (1, 2, 3 …)."""

from __future__ import annotations

import json
import time
from typing import Any

from actors.job_store import PREFIX


class ProjectStore:
    def __init__(self, r: Any, prefix: str = PREFIX) -> None:
        self.r, self.p = r, prefix

    def _key(self, owner: str, project_id: int) -> str:
        return f"{self.p}project:{owner}:{project_id}"

    def create(self, owner: str, fields: dict[str, Any]) -> dict[str, Any]:
        project_id = int(self.r.incr(f"{self.p}user:{owner}:project_seq"))
        now = time.time()
        record = {**fields, "id": project_id, "created": now, "updated": now}
        with self.r.pipeline(transaction=True) as tx:
            tx.set(self._key(owner, project_id), json.dumps(record))
            tx.zadd(f"{self.p}user:{owner}:projects", {str(project_id): project_id})
            tx.execute()
        return record

    def get(self, owner: str, project_id: int) -> dict[str, Any] | None:
        raw = self.r.get(self._key(owner, project_id))
        return json.loads(raw) if raw else None

    def update(self, owner: str, project_id: int, changes: dict[str, Any]) -> dict[str, Any] | None:
        record = self.get(owner, project_id)
        if record is None:
            return None
        record = {**record, **changes, "id": project_id, "updated": time.time()}
        self.r.set(self._key(owner, project_id), json.dumps(record))
        return record

    def delete(self, owner: str, project_id: int) -> bool:
        with self.r.pipeline(transaction=True) as tx:
            tx.delete(self._key(owner, project_id))
            tx.zrem(f"{self.p}user:{owner}:projects", str(project_id))
            deleted, _ = tx.execute()
        return bool(deleted)

    def list(self, owner: str, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        key = f"{self.p}user:{owner}:projects"
        ids = self.r.zrange(key, offset, offset + limit - 1)
        items = [p for p in (self.get(owner, int(i)) for i in ids) if p is not None]
        return int(self.r.zcard(key)), items
