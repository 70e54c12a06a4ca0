"""What the routes call: ownership, settings merged from a project, public views of jobs. No HTTP here: it raises
domain errors (NotFound, RateLimited, InvalidInputError) that the app maps to 404, 429 and 422."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

from actors import registry
from actors.client import JobClient
from actors.job_view import job_view
from actors.jobs import Job, State
from actors.maintenance import cleanup_temp_files, performance
from actors.queues import DEFAULT_SLOTS, QUEUES
from actors.quota import Quota
from pipeline.errors import InvalidInputError
from pipeline.providers import make_engine
from serve_app.api.responses import Performance, QueueHealth, QueueStats, TaskStatus
from serve_app.api.schemas import ReelSettings
from serve_app.config import ApiConfig
from serve_app.links import LinkSigner, signing_key
from serve_app.projects import ProjectStore
from serve_app.ratelimit import RateLimiter
from serve_app.users import User, UserStore

API = "/api/v1"


class NotFound(LookupError):
    """Unknown or someone else's: the answer is the same, so it reveals nothing about other users."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class RateLimited(Exception):
    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__(f"too many submissions: at most {limit} a minute; retry in {retry_after} s")
        self.retry_after = retry_after


# Fields a submission may carry and the task params they become (each task keeps the ones its model knows).
_PARAM_NAMES = {"voice_id": "voice"}
_FIELD_NAMES = {"voice": "voice_id", "size": "video_settings.size", "rate": "video_settings.rate"}


class ReelsService:
    def __init__(self, config: ApiConfig) -> None:
        self.config = config
        self.jobs = JobClient(config.redis_url, config.task_modules)
        self.store = self.jobs.store
        r = self.store.r  # the API's own stores share the job store's connection and prefix
        self.users = UserStore(r, self.store.p)
        self.projects = ProjectStore(r, self.store.p)
        self.limiter = RateLimiter(r, config.submit_per_minute, prefix=self.store.p)
        self.links = LinkSigner(signing_key(r, config.link_secret, self.store.p), config.link_ttl_s)
        self.data_dir = Path(config.data_dir).resolve()

    # ---- submissions ------------------------------------------------------------------------------------------
    def settings_for(
        self, user: User, project_id: int | None, topic: str | None, given: dict[str, Any]
    ) -> tuple[dict[str, Any], int | None]:
        """A project's topic and style, overridden by what the submission gives. A submission with its own topic
        needs no project (its project_id is kept as a label); one without must name a project of the user."""
        base: dict[str, Any] = {}
        if project_id is not None:
            project = self.projects.get(user.id, project_id)
            if project is None and topic is None:
                raise NotFound("project")
            if project is not None:
                style = project.get("style") or {}
                wanted = {*ReelSettings.model_fields, "topic"}
                base = {k: v for k, v in {**project, **style}.items() if k in wanted and v is not None}
        merged = {**base, **{k: v for k, v in given.items() if v is not None}}
        if topic is not None:
            merged["topic"] = topic
        if "topic" not in merged:
            raise InvalidInputError("topic", "give a topic or the project_id of a project that has one")
        if "voice_id" in merged:
            self.check_voice(merged["voice_id"])
        return merged, project_id

    def params_for(self, task_type: str, settings: dict[str, Any]) -> dict[str, Any]:
        known = registry.get(task_type).stage_specs()[-1].params.model_fields
        params = {_PARAM_NAMES.get(k, k): v for k, v in settings.items()}
        return {k: v for k, v in params.items() if k in known}

    def submit(self, user: User, task_type: str, params: dict[str, Any], priority: int, project_id: int | None) -> Job:
        try:
            registry.validate(task_type, params)  # refuse bad params before spending the user's rate budget
        except InvalidInputError as e:  # name the request's field, not the task's
            field = e.field.removeprefix("params.")
            raise InvalidInputError(_FIELD_NAMES.get(field, field), e.reason.removeprefix("Value error, ")) from None
        self.check_priority(user, priority)
        self.take_budget(user, 1)
        project = str(project_id or "")
        return self.jobs.submit(user.id, task_type, params, priority, project=project, quota=self.quota(user))

    def quota(self, user: User) -> Quota | None:
        """What the user may hold at once: their own limits where an admin set them, else the server's. Admins
        have none."""
        if user.is_admin:
            return None
        own = self.users.limits(user.id)
        return Quota(
            max_queued=int(own.get("max_queued", self.config.max_queued_per_user)),
            max_render_minutes=own.get("max_render_minutes", self.config.max_render_minutes_per_user),
            max_running=int(own.get("max_running", self.config.max_running_per_user)),
        )

    def check_priority(self, user: User, priority: int) -> None:
        """The top priorities are kept for admins, so no user can queue ahead of everyone's urgent work."""
        top = self.config.max_user_priority
        if priority > top and not user.is_admin:
            raise InvalidInputError("priority", f"{priority} is over {top}, the highest a user may use (admins: 10)")

    def take_budget(self, user: User, cost: int) -> None:
        wait = self.limiter.take(user.id, cost)
        if wait:
            raise RateLimited(wait, self.limiter.per_window)

    @functools.cached_property
    def voice_ids(self) -> frozenset[str]:
        try:
            return frozenset(v.id for v in make_engine(self.config.providers).voices())
        except Exception:  # the engine cannot list voices here (e.g. not installed): the worker will check
            return frozenset()

    def check_voice(self, voice: str) -> None:
        if self.voice_ids and voice not in self.voice_ids:
            raise InvalidInputError("voice_id", f"unknown voice {voice!r} (GET {API}/voices lists them)")

    # ---- reading tasks ---------------------------------------------------------------------------------------
    def task(self, user: User, task_id: str) -> Job:
        job = self.store.get(task_id) if len(task_id) <= 64 else None
        if job is None or (job.owner != user.id and not user.is_admin):
            raise NotFound("task")
        return job

    def _inside(self, value: Any) -> Path | None:
        if not isinstance(value, str) or not value.startswith("/"):
            return None
        path = Path(value).resolve()
        return path if path.is_relative_to(self.data_dir) else None

    def shown(self, text: str) -> str:
        """Text for a client: the server's data folder left out of any path in it (paths read relative to it)."""
        return text.replace(f"{self.data_dir}/", "").replace(str(self.data_dir), ".")

    def split_result(self, job: Job) -> tuple[dict[str, Any], dict[str, Path]]:
        """The task's result as data, and its output files by name ("video", "srt", "videos_0" …), only ever paths
        inside the data folder (server paths never reach the client)."""
        data: dict[str, Any] = {}
        files: dict[str, Path] = {}
        for k, v in job.result.items():
            items = v if isinstance(v, list) and v else [v]
            paths = [self._inside(x) for x in items]
            if all(p is not None for p in paths):
                named = {k: paths[0]} if not isinstance(v, list) else {f"{k}_{i}": p for i, p in enumerate(paths)}
                files.update({n: p for n, p in named.items() if p is not None})
            else:
                data[k] = v
        return data, files

    def public(self, job: Job) -> TaskStatus:
        """The job's public view, with its files as signed links once it succeeded."""
        data, files = self.split_result(job)
        view = job_view(job, now=time.time())
        signed = job.state == State.SUCCESS
        links = {n: self.links.sign(f"{API}/tasks/{job.id}/files/{n}") for n in files} if signed else {}
        return TaskStatus(
            **view.model_dump(exclude={"status", "error", "result"}),
            status=self.shown(job.status),
            error=self.shown(job.error) or None,
            result=data,
            project_id=int(job.project) if job.project.isdigit() else None,
            created=job.created,
            finished=job.finished or None,
            files=links,
        )

    def list_tasks(self, user: User, state: State | None, offset: int, limit: int) -> tuple[list[Job], int | None]:
        """The user's tasks, newest first; with a state filter the scan goes on until the page is full."""
        found: list[Job] = []
        cursor, chunk = offset, max(limit, 100)
        while len(found) < limit:
            ids = self.store.owner_jobs(user.id, cursor, chunk)
            if not ids:
                return found, None
            for i, job_id in enumerate(ids):
                job = self.store.get(job_id)
                if job is not None and (state is None or job.state == state):
                    found.append(job)
                    if len(found) == limit:
                        return found, cursor + i + 1
            cursor += len(ids)
        return found, cursor

    # ---- stats and admin ---------------------------------------------------------------------------------
    def dispatcher_up(self) -> bool:
        state = self.store.dispatcher_state()
        return state is not None and state["age_s"] < 10

    def caps(self) -> dict[str, int]:
        """Slots per queue: what the running Dispatcher last reported, else what was set, else the defaults."""
        state = self.store.dispatcher_state()
        return {**DEFAULT_SLOTS, **(state["caps"] if state else {}), **self.store.caps()}

    def queue_stats(self) -> QueueStats:
        state = self.store.dispatcher_state()
        caps = self.caps()
        queues: dict[str, QueueHealth] = {}
        for q in QUEUES:
            stats = self.store.stats(q)
            pending, active = self.store.pending_count(q), len(self.store.running(q))
            done, failed = stats.get("completed", 0), stats.get("failed", 0)
            rate = failed / (done + failed) if done + failed >= 5 else 0.0
            slots = caps.get(q, 0)
            if (pending and slots == 0) or rate > 0.2:
                health = "critical"
            elif pending > 5 * max(slots, 1) or rate > 0.05:
                health = "warning"
            else:
                health = "healthy"
            queues[q] = QueueHealth(
                pending=pending, active=active, completed=done, failed=failed, slots=slots, health=health
            )
        return QueueStats(queues=queues, dispatcher="up" if state and state["age_s"] < 10 else "down")

    def performance(self, window_s: float) -> Performance:
        return Performance.model_validate(performance(self.store, window_s))

    def cleanup(self) -> dict[str, Any]:
        """Remove leftover work folders and requeue tasks running past their hard time limit."""
        removed = cleanup_temp_files(self.store, self.data_dir, max_age_s=3600)
        now, requeued = time.time(), 0
        for q in QUEUES:
            stuck = []
            for job_id in self.store.running(q):
                job = self.store.get(job_id)
                if job and job.started and now - job.started > registry.get(job.task_type).hard_limit_s + 60:
                    stuck.append(job_id)
            requeued += self.store.requeue_running(q, stuck)
        return {"removed_work_dirs": len(removed), "requeued_stuck": requeued}

    def requeue_failed(self, max_age_hours: float) -> int:
        since, n = time.time() - max_age_hours * 3600, 0
        for job_id in self.store.dlq(0, 100_000):
            job = self.store.get(job_id)
            if job is not None and job.finished >= since and self.store.requeue_dead(job_id):
                n += 1
        return n

    def dead(self, offset: int, limit: int) -> tuple[list[Job], int]:
        jobs = [j for j in (self.store.get(i) for i in self.store.dlq(offset, limit)) if j is not None]
        return jobs, self.store.dlq_length()

    def dead_task(self, task_id: str) -> Job:
        job = self.store.get(task_id) if len(task_id) <= 64 else None
        if job is None or not self.store.in_dlq(task_id):
            raise NotFound("dead-letter task")
        return job

    def healthy_redis(self) -> bool:
        return self.store.ping()
