"""The Lua scripts of the job store: every change of a job's state is one script, so a crash between two writes
cannot lose or duplicate a job. Keys (all under the store's prefix, ARGV[1] or the prefix of KEYS[1]):

- job:<id> (hash): the record; its `token` names the attempt that may report progress or finish it.
- pending:<queue> (sorted set): claimable jobs by SCORE; running:<queue> (set): jobs with a live attempt.
- state:<STATE> (set): ids per state; delayed (sorted set): retries by due time; dlq (list): dead letters.
- stats:<queue> (hash): counters; finished (sorted set): ids by end time; owner:<owner> (sorted set): by creation.
- running_by:<owner>, running_cap, held:<owner>, quota:<owner>: the per-user caps (see OWNER_FNS).
"""

from __future__ import annotations

# Higher priority first, FIFO within a priority: score = (10 - priority) * 1e12 + sequence number.
SCORE = "(10 - tonumber(redis.call('HGET', jk, 'priority'))) * 1e12 + tonumber(redis.call('HGET', jk, 'seq'))"


# Shared by the scripts below. A user's running places: running_by:<owner> holds the ids of their jobs that run now;
# running_cap is the most each owner may run (no entry: no cap). A job whose owner is at the cap when the queue
# reaches it waits in held:<owner> with its score, and goes back in line as a running job of its owner ends.
# quota:<owner> counts the owner's unfinished jobs and their render seconds; a job's 'counted' field says whether
# it is still in those counts, so a job leaves them exactly once.
OWNER_FNS = """
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
# HOLDS_PER_CLAIM per call, so one call stays short; the Dispatcher calls again on its next tick).
HOLDS_PER_CLAIM = 200
CLAIM = (
    OWNER_FNS
    + f"""
local p, q = ARGV[1], ARGV[4]
local id, jk
for _ = 1, {HOLDS_PER_CLAIM} do
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
ENQUEUE = (
    OWNER_FNS
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

SET_RUNNING_CAP = (
    OWNER_FNS
    + """
if ARGV[3] == '' then redis.call('HDEL', ARGV[1] .. 'running_cap', ARGV[2])
else redis.call('HSET', ARGV[1] .. 'running_cap', ARGV[2], ARGV[3]) end
unhold(ARGV[1], ARGV[2])
return true
"""
)

PROGRESS = """
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

# ARGV: prefix, token, new state, finished time, fields JSON, stats counters to add one to (comma-separated), dlq
# (1/0), requeue due time or ''
FINISH = (
    OWNER_FNS
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
for stat in string.gmatch(ARGV[6], '[^,]+') do redis.call('HINCRBY', p .. 'stats:' .. q, stat, 1) end
if ARGV[7] == '1' then redis.call('RPUSH', p .. 'dlq', id) end
if ARGV[8] ~= '' then redis.call('ZADD', p .. 'delayed', tonumber(ARGV[8]), id) end
return id
"""
)

# A workflow stage finished: move the job to its next stage's queue, keeping its place (priority, sequence).
ADVANCE = (
    OWNER_FNS
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
redis.call('ZADD', p .. 'pending:' .. ARGV[3], {SCORE}, id)
return id
"""
)

RELEASE = f"""
local p = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', p .. 'delayed', '-inf', ARGV[2], 'LIMIT', 0, 500)
for _, id in ipairs(due) do
  local jk = p .. 'job:' .. id
  redis.call('ZREM', p .. 'delayed', id)
  redis.call('SMOVE', p .. 'state:RETRY', p .. 'state:PENDING', id)
  redis.call('HSET', jk, 'state', 'PENDING', 'status', 'queued for retry')
  redis.call('ZADD', p .. 'pending:' .. redis.call('HGET', jk, 'queue'), {SCORE}, id)
end
return #due
"""

# Put running jobs back in line: all of a queue's (after a restart) or the given ids (orphans of a lost update).
REQUEUE_RUNNING = (
    OWNER_FNS
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
    redis.call('ZADD', p .. 'pending:' .. ARGV[2], {SCORE}, id)
    stopped_running(p, jk, id)
    n = n + 1
  end
end
return n
"""
)

# An admin sends a dead job back to its queue with fresh attempts.
REQUEUE_DEAD = (
    OWNER_FNS
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
redis.call('ZADD', p .. 'pending:' .. redis.call('HGET', jk, 'queue'), {SCORE}, id)
return id
"""
)

CANCEL = (
    OWNER_FNS
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
