"""The maintenance records: failure-rate alerts, the latest usage snapshot, daily reports (on a job store's
connection, under its prefix)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from actors.job_store import JobStore

ALERTS_KEPT = 1000


class ReportStore:
    def __init__(self, store: JobStore) -> None:
        self.r, self.p = store.r, store.p

    def push_alert(self, alert: dict[str, Any]) -> None:
        """Newest first; the oldest beyond ALERTS_KEPT are dropped."""
        with self.r.pipeline(transaction=True) as tx:
            tx.lpush(f"{self.p}alerts", json.dumps(alert))
            tx.ltrim(f"{self.p}alerts", 0, ALERTS_KEPT - 1)
            tx.execute()

    def alerts(self, limit: int = 100) -> list[dict[str, Any]]:
        return [json.loads(a) for a in self.r.lrange(f"{self.p}alerts", 0, limit - 1)]

    def alert_count(self) -> int:
        return int(self.r.llen(f"{self.p}alerts"))

    def save_usage(self, snapshot: dict[str, Any]) -> None:
        self.r.set(f"{self.p}usage:latest", json.dumps(snapshot))

    def usage(self) -> dict[str, Any] | None:
        raw = self.r.get(f"{self.p}usage:latest")
        return dict(json.loads(raw)) if raw else None

    def save_report(self, day: dt.date, report: dict[str, Any]) -> None:
        self.r.set(f"{self.p}reports:{day.isoformat()}", json.dumps(report))

    def report(self, day: dt.date) -> dict[str, Any] | None:
        raw = self.r.get(f"{self.p}reports:{day.isoformat()}")
        return dict(json.loads(raw)) if raw else None
