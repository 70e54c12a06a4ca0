"""The periodic maintenance jobs: temp-file cleanup, failed-task check, usage statistics, a daily report.

Each job is a plain function over the job store (callable directly in tests); `Scheduler` is the detached actor
that runs them on their intervals.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.job_store import JobStore
from actors.jobs import TERMINAL, State
from actors.queues import QUEUES
from actors.report_store import ReportStore

log = logging.getLogger("reels.maintenance")
SCHEDULER_NAME = "reels-scheduler"


@dataclass(frozen=True)
class Schedule:
    cleanup_s: float = 3600.0
    failed_check_s: float = 300.0
    usage_s: float = 600.0
    failure_rate_alert: float = 0.2  # alert when more than this share of recent tasks failed
    min_sample: int = 5  # ... out of at least this many
    temp_max_age_s: float = 3600.0


def cleanup_temp_files(store: JobStore, data_dir: str | Path, max_age_s: float, now: float | None = None) -> list[str]:
    """Remove work folders left by attempts that are over (crashed workers leave theirs behind)."""
    now = now or time.time()
    removed = []
    work = Path(data_dir) / "work"
    for d in work.iterdir() if work.is_dir() else []:
        job = store.get(d.name)
        stale = now - d.stat().st_mtime > max_age_s
        if job is None or job.state in TERMINAL or stale:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d.name)
    return removed


def check_failed_tasks(
    store: JobStore, window_s: float, schedule: Schedule, now: float | None = None
) -> dict[str, Any] | None:
    """Write an alert record when the share of failures among tasks finished in the window crosses the threshold."""
    now = now or time.time()
    ids = store.finished_between(now - window_s, now)
    states = [state for (state,) in store.fields(ids, "state")]
    failed = sum(s == State.FAILURE for s in states)
    total = sum(s in (State.SUCCESS, State.FAILURE) for s in states)
    if total < schedule.min_sample or failed / total <= schedule.failure_rate_alert:
        return None
    alert = {
        "time": now,
        "window_s": window_s,
        "failed": failed,
        "total": total,
        "rate": round(failed / total, 3),
        "threshold": schedule.failure_rate_alert,
    }
    ReportStore(store).push_alert(alert)
    return alert


def update_usage_statistics(store: JobStore, now: float | None = None) -> dict[str, Any]:
    """A snapshot of every queue's counters, kept for the stats views."""
    snapshot = {
        "time": now or time.time(),
        "queues": {
            q: {"pending": store.pending_count(q), "active": len(store.running(q)), **store.stats(q)} for q in QUEUES
        },
    }
    ReportStore(store).save_usage(snapshot)
    return snapshot


def durations_by_type(store: JobStore, start: float, end: float) -> dict[str, dict[str, float]]:
    """p50/p95 execution time and counts of tasks finished in [start, end], per task type."""
    types: dict[str, dict[str, float]] = performance(store, end - start, now=end)["task_types"]
    return types


def generate_daily_report(store: JobStore, day: dt.date) -> dict[str, Any]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()
    report = {
        "date": day.isoformat(),
        "task_types": durations_by_type(store, start, start + 86_400),
        "alerts": ReportStore(store).alert_count(),
    }
    ReportStore(store).save_report(day, report)
    return report


class Scheduler:
    """Runs the maintenance jobs on their intervals and the daily report after midnight (UTC)."""

    def __init__(self, redis_url: str, data_dir: str, schedule: Schedule) -> None:
        self.store, self.data_dir, self.schedule = JobStore(redis_url), data_dir, schedule
        self.last_run: dict[str, float] = {}
        self.runs: dict[str, int] = {}
        self._task = asyncio.get_event_loop().create_task(self._loop())

    async def status(self) -> dict[str, Any]:
        return {"last_run": dict(self.last_run), "runs": dict(self.runs)}

    def _due(self, name: str, every: float, now: float) -> bool:
        if now - self.last_run.get(name, 0.0) < every:
            return False
        self.last_run[name] = now
        self.runs[name] = self.runs.get(name, 0) + 1
        return True

    async def _loop(self) -> None:
        s = self.schedule
        while True:
            now = time.time()
            try:
                if self._due("cleanup_temp_files", s.cleanup_s, now):
                    cleanup_temp_files(self.store, self.data_dir, s.temp_max_age_s, now)
                if self._due("check_failed_tasks", s.failed_check_s, now):
                    check_failed_tasks(self.store, s.failed_check_s, s, now)
                if self._due("update_usage_statistics", s.usage_s, now):
                    update_usage_statistics(self.store, now)
                yesterday = dt.datetime.fromtimestamp(now, dt.UTC).date() - dt.timedelta(days=1)
                if ReportStore(self.store).report(yesterday) is None:
                    generate_daily_report(self.store, yesterday)
                    self.runs["generate_daily_report"] = self.runs.get("generate_daily_report", 0) + 1
            except Exception:
                log.exception("maintenance job failed")
            await asyncio.sleep(min(1.0, s.failed_check_s, s.usage_s, s.cleanup_s))


def performance(store: JobStore, window_s: float, now: float | None = None, sample: int = 20_000) -> dict[str, Any]:
    """Throughput, success and retry-success rates and p50/p95 per task type over the last `window_s` seconds."""
    now = now or time.time()
    ids = store.recently_finished(now, window_s, sample)
    rows = store.fields(ids, "task_type", "state", "execution_time", "stage_attempts")
    samples: dict[str, list[float]] = {}
    failed: dict[str, int] = {}
    succeeded = retried = retried_ok = 0
    for task_type, state, took, attempts in rows:
        if task_type is None or state not in (State.SUCCESS, State.FAILURE):
            continue
        ok = state == State.SUCCESS
        succeeded += ok
        if any(n > 1 for n in json.loads(attempts or "[]")):  # a real retry: some stage needed another attempt
            retried += 1
            retried_ok += ok
        if ok:
            samples.setdefault(task_type, []).append(float(took or 0))
        else:
            failed[task_type] = failed.get(task_type, 0) + 1
    types = {}
    for t in sorted(set(samples) | set(failed)):
        xs = sorted(samples.get(t, []))
        types[t] = {
            "succeeded": len(xs),
            "failed": failed.get(t, 0),
            "p50_s": round(statistics.median(xs), 3) if xs else 0.0,
            "p95_s": round(xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))], 3) if xs else 0.0,
        }
    total = succeeded + sum(failed.values())
    return {
        "window_s": window_s,
        "finished": total,
        "throughput_per_minute": round(total / (window_s / 60), 3),
        "success_rate": round(succeeded / total, 4) if total else None,
        "retry_success_rate": round(retried_ok / retried, 4) if retried else None,
        "task_types": types,
    }
