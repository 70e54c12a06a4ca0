"""`reels serve` (the HTTP API on Ray Serve, with the job system) and `reels users` (API keys)."""

from __future__ import annotations

import argparse
from typing import Any

from cluster.cli_jobs import job_system, wait_for_stop
from cluster.settings import Settings
from pipeline.errors import InvalidInputError


def cmd_serve(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Redis, Ray, the Dispatcher and the API on host:port until Ctrl-C or SIGTERM."""
    host, port = args.host or settings.api_host, args.port or settings.api_port
    if not 1 <= port <= 65535:
        raise InvalidInputError("--port", f"{port} is not a TCP port (1–65535)")
    from ray import serve

    from cluster import proxy_rules
    from serve_app.deployment import APP_NAME, AppArgs, build_app

    proxy_rules.install()
    with job_system(settings, args.address) as (url, _):
        serve.start(http_options={"host": host, "port": port})
        data_dir = str(settings.data_dir.resolve())
        app_args = AppArgs(redis_url=url, data_dir=data_dir, max_replicas=settings.api_max_replicas)
        serve.run(build_app(app_args, settings.api(url)), name=APP_NAME, route_prefix="/")
        print(f"reels serve: http://{host}:{port} (API docs at /docs, console at /console); Ctrl-C to stop", flush=True)
        try:
            wait_for_stop(args.seconds)
        finally:
            serve.shutdown()
    return {"stopped": True}


def cmd_users(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    import redis

    from cluster.redis_local import LocalRedis
    from serve_app.users import UserStore

    local = None if settings.redis_url else LocalRedis(settings.data_dir, settings.local_redis_port)
    url = settings.redis_url or local.start()  # type: ignore[union-attr]
    try:
        users = UserStore(redis.Redis.from_url(url, decode_responses=True, socket_timeout=10))
        if args.action == "create":
            token = users.create(args.name, "admin" if args.admin else "user")
            if not args.json:
                role = "admin" if args.admin else "user"
                print(f"created {role} {args.name!r}; the token is shown only now (use: Authorization: Bearer TOKEN)")
                print(token)
            return {"user": args.name, "role": "admin" if args.admin else "user", "token": token}
        if args.action == "revoke":
            n = users.revoke(args.name)
            if not args.json:
                print(f"revoked {n} key(s) of {args.name!r}")
            return {"user": args.name, "revoked": n}
        listing = users.list()
        if not args.json:
            for u in listing:
                print(f"{u['user']:<32} {u['role']:<6} {u['keys']} key(s)")
        return {"users": listing}
    finally:
        if local is not None and local.proc is not None:
            local.stop()  # only a redis-server this command started itself


def add_parsers(sub: Any) -> None:
    s = sub.add_parser("serve", help="the HTTP API (Ray Serve) with the job system, until Ctrl-C")
    s.add_argument("--host", help="bind address (default 127.0.0.1; REELS_API_HOST)")
    s.add_argument("--port", type=int, help="port (default 8000; REELS_API_PORT)")
    s.add_argument("--address", help="join a running Ray cluster instead of starting one")
    s.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    s.add_argument("--json", action="store_true")
    u = sub.add_parser("users", help="API users and their tokens")
    acts = u.add_subparsers(dest="action", required=True)
    c = acts.add_parser("create", help="create a user (or another key for one); prints the token once")
    c.add_argument("name", help="the user id (as in /ws/{user_id})")
    c.add_argument("--admin", action="store_true", help="may use the admin routes")
    r = acts.add_parser("revoke", help="revoke every key of a user")
    r.add_argument("name")
    ls = acts.add_parser("list")
    for p in (c, r, ls):
        p.add_argument("--json", action="store_true")
