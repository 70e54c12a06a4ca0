"""Durable job records in Redis: per-queue priority order, running sets, retries due later, a dead-letter queue.

The job store owns the job system's Redis schema: every key under PREFIX that the job system reads or writes goes
through a method here (the maintenance records through actors/report_store.py, on this store's connection). Every
state change is one Lua script (actors/job_scripts.py), so a crash between two writes cannot lose or duplicate a
job, and only the attempt holding the job's current token may report progress or finish it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from actors import job_scripts as lua
from actors.jobs import Job, State
from actors.queues import QUEUES
from actors.quota import Quota, QuotaExceeded

PREFIX = "reels:"  # every key of the system, the API's own stores (users, projects, rate limit, link secret) too


class JobStore:
    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        # redis-py's return types are unions of sync and async results; decode_responses=True makes them str.
        # Timeouts: a call on a half-dead connection fails (and is retried or requeued) instead of hanging forever.
        # A blocking pool: a burst waits for a free connection instead of failing with MaxConnectionsError.
        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=128,
            timeout=10,
            decode_responses=True,
            socket_timeout=10,
            socket_connect_timeout=5,
            health_check_interval=15,
        )
        self.r: Any = redis.Redis(connection_pool=pool)
        self.p = prefix
        self._claim = self.r.register_script(lua.CLAIM)
        self._progress = self.r.register_script(lua.PROGRESS)
        self._finish = self.r.register_script(lua.FINISH)
        self._release = self.r.register_script(lua.RELEASE)
        self._requeue = self.r.register_script(lua.REQUEUE_RUNNING)
        self._cancel = self.r.register_script(lua.CANCEL)
        self._advance = self.r.register_script(lua.ADVANCE)
        self._enqueue = self.r.register_script(lua.ENQUEUE)
        self._set_running_cap = self.r.register_script(lua.SET_RUNNING_CAP)
        self._requeue_dead = self.r.register_script(lua.REQUEUE_DEAD)

    def key(self, job_id: str) -> str:
        return f"{self.p}job:{job_id}"

    def enqueue(self, jobs: list[Job], render_s: list[float] | None = None, quota: Quota | None = None) -> list[Job]:
        """Store jobs of one owner PENDING in their queues, all or none: with a `quota`, only if the owner's
        unfinished jobs and their render seconds (`render_s`, one per job) stay within it (else QuotaExceeded naming
        the limit), and the quota's running cap becomes the owner's."""
        if not jobs:
            return jobs
        owner = jobs[0].owner
        if any(j.owner != owner for j in jobs):
            raise ValueError("enqueue takes jobs of one owner")
        seconds = render_s or [0.0] * len(jobs)
        args: list[Any] = [self.p, owner, "1" if quota else "0"]
        args += [quota.max_queued, quota.max_render_minutes * 60, quota.max_running] if quota else [0, 0, ""]
        for job, secs in zip(jobs, seconds, strict=True):
            args += [job.id, json.dumps(job.to_redis()), secs]
        verdict = self._enqueue(args=args)
        if verdict[0] == "max_queued":
            assert quota is not None
            have, adding = int(verdict[1]), int(verdict[2])
            raise QuotaExceeded(
                "max_queued",
                f"you have {have} unfinished jobs and asked for {adding} more; at most {quota.max_queued} may wait "
                "or run at once",
            )
        if verdict[0] == "max_render_minutes":
            assert quota is not None
            have_min, adding_min = float(verdict[1]) / 60, float(verdict[2]) / 60
            raise QuotaExceeded(
                "max_render_minutes",
                f"your unfinished jobs will render {have_min:.1f} min and these {adding_min:.1f} min more; at most "
                f"{quota.max_render_minutes:g} min may be queued at once",
            )
        return jobs

    def create(self, job: Job) -> Job:
        """Store one job PENDING, outside any quota (notebooks, the CLI, tests)."""
        return self.enqueue([job])[0]

    def set_running_cap(self, owner: str, max_running: int | None) -> None:
        """The most jobs `owner` may run at once (None: no cap); held jobs go back in line if there is room now."""
        self._set_running_cap(args=[self.p, owner, "" if max_running is None else max_running])

    def usage(self, owner: str) -> dict[str, float]:
        """What the owner holds now: unfinished jobs, their render minutes, running jobs, jobs held at the cap."""
        with self.r.pipeline(transaction=False) as pipe:
            pipe.hmget(f"{self.p}quota:{owner}", "jobs", "secs")
            pipe.scard(f"{self.p}running_by:{owner}")
            pipe.zcard(f"{self.p}held:{owner}")
            (jobs, secs), running, held = pipe.execute()
        return {
            "unfinished": max(0, int(jobs or 0)),
            "render_minutes": round(max(0.0, float(secs or 0)) / 60, 2),
            "running": int(running),
            "held": int(held),
        }

    def get(self, job_id: str) -> Job | None:
        raw = self.r.hgetall(self.key(job_id))
        return Job.from_redis(raw) if raw else None

    def claim(self, queue: str, token: str) -> str | None:
        """Take the highest-priority pending job of a queue and mark it STARTED under `token`."""
        out = self._claim(args=[self.p, token, time.time(), queue])
        return str(out) if out else None

    def report(self, job_id: str, token: str, percent: float, status: str, stage: str) -> str | None:
        """Progress from the attempt holding `token`; returns the owner (for the channel) or None if stale."""
        owner = self._progress(keys=[self.key(job_id)], args=[token, f"{percent:.2f}", status, stage, self.p])
        return str(owner) if owner else None

    def finish(
        self,
        job_id: str,
        token: str,
        state: State,
        fields: dict[str, Any] | None = None,
        stat: str | tuple[str, ...] = "",
        dead_letter: bool = False,
        retry_at: float | None = None,
    ) -> bool:
        encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (fields or {}).items()}
        done = self._finish(
            keys=[self.key(job_id)],
            args=[
                self.p,
                token,
                state.value,
                time.time(),
                json.dumps(encoded),
                stat if isinstance(stat, str) else ",".join(stat),
                "1" if dead_letter else "0",
                "" if retry_at is None else repr(retry_at),
            ],
        )
        return bool(done)

    def advance(self, job_id: str, token: str, next_queue: str, result: dict[str, Any], status: str) -> bool:
        return bool(
            self._advance(keys=[self.key(job_id)], args=[self.p, token, next_queue, json.dumps(result), status])
        )

    def release_due(self, now: float | None = None) -> int:
        return int(self._release(args=[self.p, now if now is not None else time.time()]))

    def requeue_running(self, queue: str, ids: list[str] | None = None) -> int:
        """Back to PENDING: every running job of `queue`, or only `ids` (when given, never all)."""
        if ids is not None and not ids:
            return 0
        return int(self._requeue(args=[self.p, queue, *(ids or [])]))

    def cancel(self, job_id: str) -> str:
        return str(self._cancel(keys=[self.key(job_id)], args=[self.p, time.time()]))

    def running(self, queue: str) -> set[str]:
        return set(self.r.smembers(f"{self.p}running:{queue}"))

    def pending_count(self, queue: str) -> int:
        return int(self.r.zcard(f"{self.p}pending:{queue}"))

    def pending_ids(self, queue: str, limit: int = 100) -> list[str]:
        return list(self.r.zrange(f"{self.p}pending:{queue}", 0, limit - 1))

    def stats(self, queue: str) -> dict[str, int]:
        raw = self.r.hgetall(f"{self.p}stats:{queue}")
        return {k: int(v) for k, v in raw.items()}

    def ids_in_state(self, state: State) -> set[str]:
        return set(self.r.smembers(f"{self.p}state:{state}"))

    def owner_jobs(self, owner: str, offset: int = 0, limit: int = 50) -> list[str]:
        return list(self.r.zrevrange(f"{self.p}owner:{owner}", offset, offset + limit - 1))

    def dlq(self, offset: int = 0, limit: int = 100) -> list[str]:
        return list(self.r.lrange(f"{self.p}dlq", offset, offset + limit - 1))

    def finished_between(self, start: float, end: float) -> list[str]:
        return list(self.r.zrangebyscore(f"{self.p}finished", start, end))

    def caps(self) -> dict[str, int]:
        """Queue caps set at run time (they outlive a Dispatcher restart)."""
        return {k: int(v) for k, v in self.r.hgetall(f"{self.p}caps").items()}

    def set_cap(self, queue: str, slots: int) -> None:
        self.r.hset(f"{self.p}caps", queue, slots)

    def heartbeat(self, caps: dict[str, int], running: dict[str, int]) -> None:
        """The Dispatcher says it is alive and what its queues hold (readiness and queue stats read this)."""
        state = {"time": time.time(), "caps": json.dumps(caps), "running": json.dumps(running)}
        self.r.hset(f"{self.p}dispatcher", mapping=state)

    def dispatcher_state(self) -> dict[str, Any] | None:
        raw = self.r.hgetall(f"{self.p}dispatcher")
        if not raw:
            return None
        return {"age_s": time.time() - float(raw["time"]), "caps": json.loads(raw["caps"])}

    def requeue_dead(self, job_id: str) -> bool:
        return bool(self._requeue_dead(keys=[self.key(job_id)], args=[self.p]))

    def purge_dlq(self) -> int:
        """Empty the dead-letter queue (the job records stay, in state FAILURE)."""
        n = int(self.r.llen(f"{self.p}dlq"))
        self.r.delete(f"{self.p}dlq")
        return n

    def publish(self, owner: str, event: dict[str, Any]) -> None:
        self.r.publish(f"{self.p}progress:{owner}", json.dumps(event))

    def channel(self, owner: str) -> str:
        return f"{self.p}progress:{owner}"

    def ping(self) -> bool:
        try:
            return bool(self.r.ping())
        except redis.RedisError:
            return False

    # ---- fields of a job outside its state changes ------------------------------------------------------------
    def cancel_requested(self, job_id: str) -> bool:
        return bool(self.r.hget(self.key(job_id), "cancel_requested") == "1")

    def record_worker(self, job_id: str, pid: int, node: str) -> None:
        """Where the attempt runs, for admins (and fault tests that kill it)."""
        self.r.hset(self.key(job_id), mapping={"worker_pid": pid, "node": node})

    def set_status(self, job_ids: list[str], status: str) -> None:
        """Tell waiting jobs why they wait (one round trip for all)."""
        with self.r.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hset(self.key(job_id), "status", status)
            pipe.execute()

    def fields(self, job_ids: list[str], *names: str) -> list[list[str | None]]:
        """Some fields of many jobs in one round trip (None where a job or field is missing)."""
        with self.r.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hmget(self.key(job_id), *names)
            return list(pipe.execute())

    # ---- batches -------------------------------------------------------------------------------------------------
    def create_batch(self, batch_id: str, owner: str, job_ids: list[str]) -> None:
        with self.r.pipeline(transaction=True) as tx:
            tx.rpush(f"{self.p}batch:{batch_id}", *job_ids)
            tx.set(f"{self.p}batch_owner:{batch_id}", owner)
            tx.execute()

    def batch_owner(self, batch_id: str) -> str | None:
        owner = self.r.get(f"{self.p}batch_owner:{batch_id}")
        return str(owner) if owner is not None else None

    def batch_ids(self, batch_id: str) -> list[str]:
        return list(self.r.lrange(f"{self.p}batch:{batch_id}", 0, -1))

    # ---- indexes -------------------------------------------------------------------------------------------------
    def dlq_length(self) -> int:
        return int(self.r.llen(f"{self.p}dlq"))

    def in_dlq(self, job_id: str) -> bool:
        return self.r.lpos(f"{self.p}dlq", job_id) is not None

    def recently_finished(self, now: float, window_s: float, limit: int) -> list[str]:
        """Ids of jobs finished in the last `window_s` seconds, newest first, at most `limit`."""
        return list(self.r.zrevrangebyscore(f"{self.p}finished", now, now - window_s, start=0, num=limit))

    def counts(self) -> tuple[dict[State, int], dict[str, int], dict[str, list[str]], int]:
        """Jobs per state, pending jobs per queue, running ids per queue, dead letters: one round trip, O(states +
        queues + running jobs), never O(all jobs)."""
        with self.r.pipeline(transaction=False) as pipe:
            for s in State:
                pipe.scard(f"{self.p}state:{s}")
            for q in QUEUES:
                pipe.zcard(f"{self.p}pending:{q}")
            for q in QUEUES:
                pipe.smembers(f"{self.p}running:{q}")
            pipe.llen(f"{self.p}dlq")
            out = pipe.execute()
        n, m = len(State), len(QUEUES)
        states = {s: int(c) for s, c in zip(State, out[:n], strict=True)}
        pending = {q: int(c) for q, c in zip(QUEUES, out[n : n + m], strict=True)}
        running = {q: sorted(ids) for q, ids in zip(QUEUES, out[n + m : n + 2 * m], strict=True)}
        return states, pending, running, int(out[-1])

    def how_many_in_state(self, state: State, groups: list[list[str]]) -> list[int]:
        """For each group of ids, how many are in `state` (one round trip)."""
        with self.r.pipeline(transaction=False) as pipe:
            for ids in groups:
                pipe.smismember(f"{self.p}state:{state}", ids)
            return [sum(int(f) for f in flags) for flags in pipe.execute()]
