"""The Redis job store on a real redis-server: order, attempt tokens, retries, cancel, dead letters."""

from __future__ import annotations

import time

from actors.job_store import JobStore
from actors.jobs import Job, State

# A key prefix of their own: the session's Dispatcher (prefix reels:) must not claim these jobs.
UNIT = "unit:"


def job(store: JobStore, priority: int = 5, queue: str = "content", owner: str = "u1") -> Job:
    return store.create(Job(Job.new_id(), owner, "generate_content", queue, priority, {"topic": "x"}))


def test_higher_priority_first_and_fifo_within_a_priority(redis_url: str) -> None:
    s = JobStore(redis_url, UNIT)
    low1, high, low2, mid = job(s, 0), job(s, 10), job(s, 0), job(s, 5)
    order = [s.claim("content", f"t{i}") for i in range(5)]
    assert order == [high.id, mid.id, low1.id, low2.id, None]
    assert s.running("content") == {high.id, mid.id, low1.id, low2.id}
    got = s.get(high.id)
    assert got is not None and got.state == State.STARTED and got.attempts == 1 and got.token == "t0"


def test_only_the_current_attempt_may_report_or_finish(redis_url: str) -> None:
    s = JobStore(redis_url, UNIT)
    j = job(s)
    s.claim("content", "right")
    assert s.report(j.id, "stale", 50, "x", "s") is None
    assert s.report(j.id, "right", 50, "halfway", "script") == "u1"
    assert not s.finish(j.id, "stale", State.SUCCESS, stat="completed")
    assert s.finish(j.id, "right", State.SUCCESS, {"result": {"video": "a.mp4"}, "progress": "100"}, stat="completed")
    done = s.get(j.id)
    assert done is not None and done.state == State.SUCCESS and done.result == {"video": "a.mp4"}
    assert done.execution_time >= 0 and s.running("content") == set()
    assert s.stats("content")["completed"] == 1
    assert j.id in s.ids_in_state(State.SUCCESS) and j.id not in s.ids_in_state(State.PROGRESS)


def test_retry_waits_until_due_then_requeues_in_place(redis_url: str) -> None:
    s = JobStore(redis_url, UNIT)
    j = job(s, priority=3)
    s.claim("content", "a1")
    assert s.finish(j.id, "a1", State.RETRY, {"error": "boom"}, stat="retried", retry_at=time.time() + 60)
    assert s.release_due() == 0 and s.claim("content", "x") is None
    assert s.release_due(time.time() + 61) == 1
    assert s.claim("content", "a2") == j.id
    again = s.get(j.id)
    assert again is not None and again.attempts == 2


def test_cancel_pending_and_running(redis_url: str) -> None:
    s = JobStore(redis_url, UNIT)
    a, b = job(s), job(s)
    assert s.cancel(a.id) == "REVOKED" and s.claim("content", "t") == b.id
    assert s.cancel(b.id) == "CANCELLING"
    running = s.get(b.id)
    assert running is not None and running.cancel_requested
    assert s.cancel("nope") == "missing"


def test_failure_lands_in_the_dead_letter_queue(redis_url: str) -> None:
    s = JobStore(redis_url, UNIT)
    j = job(s)
    s.claim("content", "t")
    s.finish(j.id, "t", State.FAILURE, {"error": "bad", "traceback": "Traceback..."}, stat="failed", dead_letter=True)
    assert s.dlq() == [j.id]
    dead = s.get(j.id)
    assert dead is not None and dead.traceback == "Traceback..." and dead.attempts == 1


def test_requeue_running_after_a_dispatcher_restart(redis_url: str) -> None:
    s = JobStore(redis_url, UNIT)
    a, b = job(s, 1), job(s, 9)
    s.claim("content", "t1")
    s.claim("content", "t2")
    assert s.requeue_running("content") == 2
    assert [s.claim("content", "n1"), s.claim("content", "n2")] == [b.id, a.id]


def test_advance_moves_a_workflow_to_its_next_stage_queue(redis_url: str) -> None:
    s = JobStore(redis_url, UNIT)
    j = job(s, priority=7)
    s.claim("content", "t")
    assert not s.advance(j.id, "stale", "video", {}, "x")
    assert s.advance(j.id, "t", "video", {"script": {"hook": "h"}}, "content done")
    moved = s.get(j.id)
    assert moved is not None and (moved.queue, moved.stage_index, moved.state) == ("video", 1, State.PENDING)
    assert moved.result == {"script": {"hook": "h"}} and s.running("content") == set()
    assert s.claim("video", "t2") == j.id


def test_dead_letters_can_be_requeued_and_purged(redis_url: str) -> None:
    s = JobStore(redis_url, UNIT)
    a, b = job(s), job(s)
    for j, tok in ((a, "ta"), (b, "tb")):
        assert s.claim("content", tok) == j.id
        s.finish(j.id, tok, State.FAILURE, {"error": "x"}, stat="failed", dead_letter=True)
    assert s.requeue_dead(a.id) and not s.requeue_dead(a.id)
    back = s.get(a.id)
    assert back is not None and (back.state, back.attempts, back.error) == (State.PENDING, 0, "")
    assert s.claim("content", "again") == a.id
    assert s.purge_dlq() == 1 and s.dlq() == []
    dead = s.get(b.id)
    assert dead is not None and dead.state == State.FAILURE  # purging keeps the record
