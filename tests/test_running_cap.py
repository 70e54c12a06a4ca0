"""A user's running cap: their jobs beyond it wait their turn, in order, while other users' jobs take the free
slots; nothing held is lost or run twice, and cancel, requeue and a raised cap all keep the order."""

from __future__ import annotations

from typing import Any

import ray
import redis

from actors.client import JobClient
from actors.job_store import JobStore
from actors.jobs import Job, State
from actors.quota import Quota

QUOTA = Quota(max_queued=100, max_render_minutes=60, max_running=2)


def _job(owner: str, tag: str, priority: int = 5) -> Job:
    return Job(Job.new_id(), owner, "generate_content", "content", priority, {"topic": tag})


def test_jobs_over_the_running_cap_wait_in_order_and_come_back(redis_url: str) -> None:
    store = JobStore(redis_url, "unit:")  # no Dispatcher claims here: each claim is this test's
    alice = store.enqueue([_job("alice", f"a{i}") for i in range(5)], quota=QUOTA)
    urgent = store.enqueue([_job("alice", "urgent", priority=8)], quota=QUOTA)[0]
    bob = store.enqueue([_job("bob", "b0")], quota=QUOTA)[0]

    def claim() -> str | None:
        return store.claim("content", "tok")

    # urgent first (priority), then alice's first; her others are held, bob's job takes the next slot.
    assert [claim(), claim(), claim(), claim()] == [urgent.id, alice[0].id, bob.id, None]
    held = store.get(alice[1].id)
    assert held is not None and held.state == State.PENDING
    assert held.status == "waiting: 2 of your jobs are running, the most you may run at once"
    assert store.usage("alice") == {"unfinished": 6, "render_minutes": 0.0, "running": 2, "held": 4}

    # One of hers ends: her next in line (not a later one) gets the place.
    assert store.finish(urgent.id, "tok", State.SUCCESS, stat="completed")
    assert claim() == alice[1].id and claim() is None
    # A held job can be cancelled; it never runs.
    assert store.cancel(alice[2].id) == "REVOKED"
    assert store.finish(alice[0].id, "tok", State.RETRY, retry_at=0.0)  # a retry gives its place back too
    assert claim() == alice[3].id
    store.release_due()
    # A raised cap lets the waiting ones start now, in their order.
    store.set_running_cap("alice", 4)
    assert [claim(), claim(), claim()] == [alice[0].id, alice[4].id, None]
    # A requeue after a lost attempt keeps the count right: the requeued job is claimable again at once.
    assert store.requeue_running("content", [alice[4].id]) == 1
    assert claim() == alice[4].id
    assert store.usage("alice")["running"] == 4 and store.usage("alice")["held"] == 0
    all_ids = {j.id for j in alice} | {urgent.id}
    assert {i for i in all_ids if store.get(i).state in (State.STARTED, State.PROGRESS)} == {  # type: ignore[union-attr]
        alice[0].id,
        alice[1].id,
        alice[3].id,
        alice[4].id,
    }


def test_the_dispatcher_keeps_a_users_running_cap_while_others_use_the_slots(
    client: JobClient, system: dict[str, Any]
) -> None:
    ray.get(system["dispatcher"].set_cap.remote("content", 4))
    quota = Quota(max_queued=100, max_render_minutes=60, max_running=2)
    mine = [client.submit("alice", "t_sleep", {"tag": f"a{i}", "seconds": 0.5}, quota=quota).id for i in range(6)]
    theirs = [client.submit("bob", "t_sleep", {"tag": f"b{i}", "seconds": 0.5}, quota=quota).id for i in range(2)]
    for i in mine + theirs:
        assert client.wait(i, 30).state == State.SUCCESS
    conn = redis.Redis.from_url(system["config"].redis_url, decode_responses=True)
    spans = {t: (float(b), float(e)) for t, b, e in (s.split() for s in conn.lrange("test:intervals", 0, -1))}

    def most_at_once(prefix: str) -> int:
        edges = sorted((t, d) for tag, (b, e) in spans.items() if tag.startswith(prefix) for t, d in ((b, 1), (e, -1)))
        peak = now = 0
        for _, d in edges:
            now += d
            peak = max(peak, now)
        return peak

    assert most_at_once("a") == 2  # never more than her cap, and the cap was reached
    claimed = [client.status(i).started for i in mine]  # when the Dispatcher gave each its slot
    assert claimed == sorted(claimed)  # her own jobs were started in the order she sent them
    assert max(client.status(i).started for i in theirs) < claimed[2]  # bob did not wait behind her backlog
