"""Durable job records in Redis: per-queue priority order, running sets, retries due later, a dead-letter queue.

Every state change is one Lua script, so a crash between two writes cannot lose or duplicate a job, and only the
attempt holding the job's current token may report progress or finish it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from actors.jobs import Job, State
from actors.quota import Quota, QuotaExceeded

# Higher priority first, FIFO within a priority: score = (10 - priority) * 1e12 + sequence number.
_SCORE = "(10 - tonumber(redis.call('HGET', jk, 'priority'))) * 1e12 + tonumber(redis.call('HGET', jk, 'seq'))"


# Shared by the scripts below. A user's running places: running_by:<owner> holds the ids of their jobs that run now;
# running_cap is the most each owner may run (no entry: no cap). A job whose owner is at the cap when the queue
# reaches it waits in held:<owner> with its score, and goes back in line as a running job of its owner ends.
# quota:<owner> counts the owner's unfinished jobs and their render seconds; a job's 'counted' field says whether
# it is still in those counts, so a job leaves them exactly once.
_OWNER_FNS = """
local function unhold(p, owner)
  local cap = tonumber(redis.call('HGET', p .. 'running_cap', owner))
  local free = 1000
  if cap then free = cap - redis.call('SCARD', p .. 'running_by:' .. owner) end
  if free <= 0 then return end
  local back = redis.call('ZPOPMIN', p .. 'held:' .. owner, free)
  for i = 1, #back, 2 do
    local jk = p .. 'job:' .. back[i]
    if redis.call('HGET', jk, 'state') == 'PENDING' then
      redis.call('ZADD', p .. 'pending:' .. redis.call('HGET', jk, 'queue'), back[i + 1], back[i])
      redis.call('HSET', jk, 'status', 'queued')
    end
  end
end
local function stopped_running(p, jk, id)
  local owner = redis.call('HGET', jk, 'owner')
  if redis.call('SREM', p .. 'running_by:' .. owner, id) == 1 then unhold(p, owner) end
end
local function ended(p, jk)
  if redis.call('HGET', jk, 'counted') == '1' then
    local qk = p .. 'quota:' .. redis.call('HGET', jk, 'owner')
    redis.call('HSET', jk, 'counted', '0')
    redis.call('HINCRBY', qk, 'jobs', -1)
    redis.call('HINCRBYFLOAT', qk, 'secs', -(tonumber(redis.call('HGET', jk, 'quota_s')) or 0))
  end
end
local function counted(p, jk)
  if redis.call('HGET', jk, 'counted') ~= '1' then
    local qk = p .. 'quota:' .. redis.call('HGET', jk, 'owner')
    redis.call('HSET', jk, 'counted', '1')
    redis.call('HINCRBY', qk, 'jobs', 1)
    redis.call('HINCRBYFLOAT', qk, 'secs', tonumber(redis.call('HGET', jk, 'quota_s')) or 0)
  end
end
"""

# Take the queue's first job whose owner has a running place free; those whose owner is at the cap are held (at most
# _HOLDS_PER_CLAIM per call, so one call stays short; the Dispatcher calls again on its next tick).
_HOLDS_PER_CLAIM = 200
_CLAIM = (
    _OWNER_FNS
    + f"""
local p, q = ARGV[1], ARGV[4]
local id, jk
for _ = 1, {_HOLDS_PER_CLAIM} do
  local popped = redis.call('ZPOPMIN', p .. 'pending:' .. q)
  if #popped == 0 then return false end
  id, jk = popped[1], p .. 'job:' .. popped[1]
  local owner = redis.call('HGET', jk, 'owner')
  local rk = p .. 'running_by:' .. owner
  local cap = tonumber(redis.call('HGET', p .. 'running_cap', owner))
  if cap and redis.call('SCARD', rk) >= cap then
    for _, m in ipairs(redis.call('SMEMBERS', rk)) do  -- a place whose job no longer runs is free
      local s = redis.call('HGET', p .. 'job:' .. m, 'state')
      if s ~= 'STARTED' and s ~= 'PROGRESS' then redis.call('SREM', rk, m) end
    end
  end
  if cap and redis.call('SCARD', rk) >= cap then
    redis.call('ZADD', p .. 'held:' .. owner, popped[2], id)
    redis.call('HSET', jk, 'status', 'waiting: ' .. cap .. ' of your jobs are running, the most you may run at once')
    id = nil
  else
    redis.call('SADD', rk, id)
    break
  end
end
if not id then return false end
redis.call('SREM', p .. 'state:' .. redis.call('HGET', jk, 'state'), id)
redis.call('HSET', jk, 'state', 'STARTED', 'token', ARGV[2], 'started', ARGV[3], 'status', 'started', 'error', '')
redis.call('HINCRBY', jk, 'attempts', 1)
-- Attempts per stage: a workflow's retry budget and backoff are its current stage's, not the whole job's.
local counts = cjson.decode(redis.call('HGET', jk, 'stage_attempts') or '[]')
local k = (tonumber(redis.call('HGET', jk, 'stage_index')) or 0) + 1
for i = #counts + 1, k do counts[i] = 0 end
counts[k] = counts[k] + 1
redis.call('HSET', jk, 'stage_attempts', cjson.encode(counts))
redis.call('SADD', p .. 'state:STARTED', id)
redis.call('SADD', p .. 'running:' .. ARGV[4], id)
return id
"""
)

# Admit and store jobs of one owner, all or nothing. ARGV: prefix, owner, check quota (1/0), max queued, max render
# seconds, max running ('' leaves the owner's as it is), then per job: id, its fields as JSON, its render seconds.
_ENQUEUE = (
    _OWNER_FNS
    + """
local p, owner = ARGV[1], ARGV[2]
local qk = p .. 'quota:' .. owner
local n, adding = 0, 0
for i = 7, #ARGV, 3 do n = n + 1; adding = adding + tonumber(ARGV[i + 2]) end
if ARGV[3] == '1' then
  local have = tonumber(redis.call('HGET', qk, 'jobs')) or 0
  local secs = math.max(0, tonumber(redis.call('HGET', qk, 'secs')) or 0)
  if have + n > tonumber(ARGV[4]) then return {'max_queued', tostring(have), tostring(n)} end
  if adding > 0 and secs + adding > tonumber(ARGV[5]) then
    return {'max_render_minutes', tostring(secs), tostring(adding)}
  end
end
for i = 7, #ARGV, 3 do
  local id, fields = ARGV[i], cjson.decode(ARGV[i + 1])
  local jk = p .. 'job:' .. id
  local seq = redis.call('INCR', p .. 'seq')
  for k, v in pairs(fields) do redis.call('HSET', jk, k, v) end
  redis.call('HSET', jk, 'seq', seq, 'quota_s', ARGV[i + 2])
  counted(p, jk)
  redis.call('SADD', p .. 'state:' .. fields['state'], id)
  redis.call('ZADD', p .. 'owner:' .. owner, tonumber(fields['created']), id)
  redis.call('ZADD', p .. 'pending:' .. fields['queue'], (10 - tonumber(fields['priority'])) * 1e12 + seq, id)
  redis.call('HINCRBY', p .. 'stats:' .. fields['queue'], 'submitted', 1)
end
if ARGV[6] ~= '' then
  redis.call('HSET', p .. 'running_cap', owner, ARGV[6])
  unhold(p, owner)
end
return {'ok'}
"""
)

_SET_RUNNING_CAP = (
    _OWNER_FNS
    + """
if ARGV[3] == '' then redis.call('HDEL', ARGV[1] .. 'running_cap', ARGV[2])
else redis.call('HSET', ARGV[1] .. 'running_cap', ARGV[2], ARGV[3]) end
unhold(ARGV[1], ARGV[2])
return true
"""
)

_PROGRESS = """
local jk = KEYS[1]
if redis.call('HGET', jk, 'token') ~= ARGV[1] then return false end
local state = redis.call('HGET', jk, 'state')
if state ~= 'STARTED' and state ~= 'PROGRESS' then return false end
if state == 'STARTED' then
  redis.call('SMOVE', ARGV[5] .. 'state:STARTED', ARGV[5] .. 'state:PROGRESS', redis.call('HGET', jk, 'id'))
end
redis.call('HSET', jk, 'state', 'PROGRESS', 'progress', ARGV[2], 'status', ARGV[3], 'stage', ARGV[4])
return redis.call('HGET', jk, 'owner')
"""

# ARGV: prefix, token, new state, finished time, fields JSON, stats field, dlq (1/0), requeue due time or ''
_FINISH = (
    _OWNER_FNS
    + """
local p = ARGV[1]
local jk = KEYS[1]
if redis.call('HGET', jk, 'token') ~= ARGV[2] then return false end
local id = redis.call('HGET', jk, 'id')
local q = redis.call('HGET', jk, 'queue')
local old = redis.call('HGET', jk, 'state')
redis.call('SREM', p .. 'state:' .. old, id)
redis.call('SREM', p .. 'running:' .. q, id)
redis.call('SADD', p .. 'state:' .. ARGV[3], id)
redis.call('HSET', jk, 'state', ARGV[3], 'token', '')
local fields = cjson.decode(ARGV[5])
for k, v in pairs(fields) do redis.call('HSET', jk, k, v) end
stopped_running(p, jk, id)
if ARGV[3] ~= 'RETRY' then
  ended(p, jk)
  redis.call('HSET', jk, 'finished', ARGV[4])
  redis.call('ZADD', p .. 'finished', tonumber(ARGV[4]), id)
  local started = tonumber(redis.call('HGET', jk, 'started')) or tonumber(ARGV[4])
  redis.call('HSET', jk, 'execution_time', tonumber(ARGV[4]) - started)
end
if ARGV[6] ~= '' then redis.call('HINCRBY', p .. 'stats:' .. q, ARGV[6], 1) end
if ARGV[7] == '1' then redis.call('RPUSH', p .. 'dlq', id) end
if ARGV[8] ~= '' then redis.call('ZADD', p .. 'delayed', tonumber(ARGV[8]), id) end
return id
"""
)

# A workflow stage finished: move the job to its next stage's queue, keeping its place (priority, sequence).
_ADVANCE = (
    _OWNER_FNS
    + f"""
local p = ARGV[1]
local jk = KEYS[1]
if redis.call('HGET', jk, 'token') ~= ARGV[2] then return false end
local id = redis.call('HGET', jk, 'id')
stopped_running(p, jk, id)
redis.call('SREM', p .. 'running:' .. redis.call('HGET', jk, 'queue'), id)
redis.call('SREM', p .. 'state:' .. redis.call('HGET', jk, 'state'), id)
redis.call('SADD', p .. 'state:PENDING', id)
redis.call('HSET', jk, 'state', 'PENDING', 'token', '', 'queue', ARGV[3], 'result', ARGV[4], 'status', ARGV[5])
redis.call('HINCRBY', jk, 'stage_index', 1)
redis.call('ZADD', p .. 'pending:' .. ARGV[3], {_SCORE}, id)
return id
"""
)

_RELEASE = f"""
local p = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', p .. 'delayed', '-inf', ARGV[2], 'LIMIT', 0, 500)
for _, id in ipairs(due) do
  local jk = p .. 'job:' .. id
  redis.call('ZREM', p .. 'delayed', id)
  redis.call('SMOVE', p .. 'state:RETRY', p .. 'state:PENDING', id)
  redis.call('HSET', jk, 'state', 'PENDING', 'status', 'queued for retry')
  redis.call('ZADD', p .. 'pending:' .. redis.call('HGET', jk, 'queue'), {_SCORE}, id)
end
return #due
"""

# Put running jobs back in line: all of a queue's (after a restart) or the given ids (orphans of a lost update).
_REQUEUE_RUNNING = (
    _OWNER_FNS
    + f"""
local p = ARGV[1]
local ids = {{}}
if #ARGV > 2 then
  for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('SMEMBERS', p .. 'running:' .. ARGV[2])
end
local n = 0
for _, id in ipairs(ids) do
  local jk = p .. 'job:' .. id
  if redis.call('SREM', p .. 'running:' .. ARGV[2], id) == 1 then
    redis.call('SREM', p .. 'state:' .. redis.call('HGET', jk, 'state'), id)
    redis.call('SADD', p .. 'state:PENDING', id)
    redis.call('HSET', jk, 'state', 'PENDING', 'token', '', 'status', 'requeued: its attempt was lost')
    redis.call('ZADD', p .. 'pending:' .. ARGV[2], {_SCORE}, id)
    stopped_running(p, jk, id)
    n = n + 1
  end
end
return n
"""
)

# An admin sends a dead job back to its queue with fresh attempts.
_REQUEUE_DEAD = (
    _OWNER_FNS
    + f"""
local p = ARGV[1]
local jk = KEYS[1]
local id = redis.call('HGET', jk, 'id')
if not id or redis.call('LREM', p .. 'dlq', 0, id) == 0 then return false end
redis.call('SREM', p .. 'state:' .. redis.call('HGET', jk, 'state'), id)
redis.call('SADD', p .. 'state:PENDING', id)
redis.call('HSET', jk, 'state', 'PENDING', 'attempts', 0, 'stage_attempts', '[]',
           'status', 'requeued from the dead-letter queue',
           'progress', 0, 'error', '', 'token', '', 'finished', 0)
counted(p, jk)
redis.call('ZADD', p .. 'pending:' .. redis.call('HGET', jk, 'queue'), {_SCORE}, id)
return id
"""
)

_CANCEL = (
    _OWNER_FNS
    + """
local p = ARGV[1]
local jk = KEYS[1]
local state = redis.call('HGET', jk, 'state')
if not state then return 'missing' end
local id = redis.call('HGET', jk, 'id')
if state == 'PENDING' or state == 'RETRY' then
  redis.call('ZREM', p .. 'pending:' .. redis.call('HGET', jk, 'queue'), id)
  redis.call('ZREM', p .. 'delayed', id)
  redis.call('ZREM', p .. 'held:' .. redis.call('HGET', jk, 'owner'), id)
  redis.call('SMOVE', p .. 'state:' .. state, p .. 'state:REVOKED', id)
  redis.call('HSET', jk, 'state', 'REVOKED', 'status', 'cancelled', 'finished', ARGV[2], 'token', '')
  ended(p, jk)
  return 'REVOKED'
end
if state == 'STARTED' or state == 'PROGRESS' then
  redis.call('HSET', jk, 'cancel_requested', '1', 'status', 'cancelling')
  return 'CANCELLING'
end
return state
"""
)


class JobStore:
    def __init__(self, url: str, prefix: str = "reels:") -> None:
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
        self._claim = self.r.register_script(_CLAIM)
        self._progress = self.r.register_script(_PROGRESS)
        self._finish = self.r.register_script(_FINISH)
        self._release = self.r.register_script(_RELEASE)
        self._requeue = self.r.register_script(_REQUEUE_RUNNING)
        self._cancel = self.r.register_script(_CANCEL)
        self._advance = self.r.register_script(_ADVANCE)
        self._enqueue = self.r.register_script(_ENQUEUE)
        self._set_running_cap = self.r.register_script(_SET_RUNNING_CAP)
        self._requeue_dead = self.r.register_script(_REQUEUE_DEAD)

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
        stat: str = "",
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
                stat,
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
