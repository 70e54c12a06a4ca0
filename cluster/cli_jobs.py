"""`reels worker` (run the job system on this machine) and `reels jobs …` (inspect it without the HTTP API)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from typing import Any

from actors.client import JobClient
from actors.job_view import dead_letter, job_view
from actors.jobs import State
from actors.queues import QUEUES
from cluster.redis_local import LocalRedis, shown
from cluster.settings import Settings
from pipeline.errors import InvalidInputError

DEAD_FIELDS = {"task_id", "task_type", "attempts", "error"}  # what `reels jobs dlq` lists of a dead letter


def redis_url(settings: Settings) -> str:
    return settings.redis_url or LocalRedis(settings.data_dir, settings.local_redis_port).url


@contextlib.contextmanager
def job_system(settings: Settings, address: str | None) -> Iterator[tuple[str, Any]]:
    """Redis (a local redis-server when REELS_REDIS_URL is unset), Ray (started or joined), the Dispatcher and the
    maintenance Scheduler; all stopped again on exit. Yields the Redis URL and the Dispatcher handle."""
    import ray

    from actors.maintenance import SCHEDULER_NAME, Schedule, Scheduler
    from cluster.runtime import start_dispatcher, start_ray

    local = None if settings.redis_url else LocalRedis(settings.data_dir, settings.local_redis_port)
    url = settings.redis_url or local.start()  # type: ignore[union-attr]
    slots = settings.slots()
    try:
        where = address or settings.ray_address
        start_ray(slots, where, dashboard=settings.dashboard, metrics_port=settings.metrics_port)
        runtime = start_dispatcher(settings.runtime(url), slots)
        scheduler: Any = ray.remote(Scheduler)
        scheduler.options(name=SCHEDULER_NAME, lifetime="detached", get_if_exists=True, num_cpus=0).remote(
            url, str(settings.data_dir.resolve()), Schedule()
        )
        yield url, runtime.dispatcher
    finally:
        ray.shutdown()
        if local is not None:
            local.stop()


def wait_for_stop(seconds: float | None) -> None:
    """Block until Ctrl-C, SIGTERM or `seconds`."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait(seconds or None)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Start Ray (or join --address), the Dispatcher and the maintenance Scheduler; serve until interrupted."""
    import ray

    with job_system(settings, args.address) as (url, dispatcher):
        state = ray.get(dispatcher.ping.remote())
        print(f"reels worker: redis {shown(url)}, queues {state['caps']}; Ctrl-C to stop", flush=True)
        wait_for_stop(args.seconds)
    return {"stopped": True}


def _params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = json.loads(args.params_json) if args.params_json else {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError("--param", f"{item!r} is not KEY=VALUE")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    client = JobClient(redis_url(settings))
    store = client.store
    if args.action == "submit":
        job = client.submit(args.owner, args.task_type, _params(args), args.priority)
        if args.wait:
            job = client.wait(job.id, args.timeout)
        return job_view(job).model_dump()
    if args.action in ("status", "wait"):
        job = client.wait(args.task_id, args.timeout) if args.action == "wait" else client.status(args.task_id)
        return job_view(job).model_dump() | ({"traceback": job.traceback} if job.traceback else {})
    if args.action == "cancel":
        return {"task_id": args.task_id, "outcome": client.cancel(args.task_id)}
    if args.action == "list":
        ids = store.owner_jobs(args.owner, 0, args.limit)
        jobs = [j for j in (store.get(i) for i in ids) if j and (not args.state or j.state == State(args.state))]
        return {"tasks": [job_view(j).model_dump() for j in jobs]}
    if args.action == "queues":
        return {
            "queues": {
                q: {"pending": store.pending_count(q), "active": len(store.running(q)), **store.stats(q)}
                for q in QUEUES
            }
        }
    if args.action == "dlq":
        if args.requeue:
            return {"requeued": store.requeue_dead(args.requeue)}
        if args.purge:
            return {"purged": store.purge_dlq()}
        dead = [j for j in (store.get(i) for i in store.dlq()) if j]
        return {"dead": [dead_letter(j).model_dump(include=DEAD_FIELDS) for j in dead]}
    raise InvalidInputError("jobs", f"unknown action {args.action!r}")


def add_parsers(sub: Any) -> None:
    w = sub.add_parser("worker", help="run Ray, the Dispatcher and the Scheduler on this machine")
    w.add_argument("--address", help="join a running Ray cluster instead of starting one")
    w.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    w.add_argument("--json", action="store_true")
    j = sub.add_parser("jobs", help="submit, inspect and cancel jobs")
    acts = j.add_subparsers(dest="action", required=True)
    s = acts.add_parser("submit")
    s.add_argument("task_type")
    s.add_argument("--param", action="append", help="KEY=VALUE (VALUE parsed as JSON when it is JSON)")
    s.add_argument("--params-json", help="all params as one JSON object")
    s.add_argument("--priority", type=int, default=5)
    s.add_argument("--owner", default="cli")
    s.add_argument("--wait", action="store_true")
    s.add_argument("--timeout", type=float, default=600.0)
    for name in ("status", "cancel", "wait"):
        p = acts.add_parser(name)
        p.add_argument("task_id")
        p.add_argument("--timeout", type=float, default=600.0)
    ls = acts.add_parser("list")
    ls.add_argument("--owner", default="cli")
    ls.add_argument("--state", choices=[s.value for s in State])
    ls.add_argument("--limit", type=int, default=50)
    acts.add_parser("queues")
    d = acts.add_parser("dlq")
    d.add_argument("--requeue", metavar="TASK_ID")
    d.add_argument("--purge", action="store_true")
    for p in (s, ls, d, *(acts.choices[n] for n in ("status", "cancel", "wait", "queues"))):
        p.add_argument("--json", action="store_true")
