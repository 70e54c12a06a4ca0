"""`reels cluster check FILE` (validate a `ray up` file offline with Ray's own validator) and `reels cluster scale`
(queue slots plus an autoscaler request, as the admin scale endpoint does)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import yaml

from actors.queues import QUEUES
from cluster.settings import Settings
from pipeline.errors import InvalidInputError


def check_cluster_file(path: Path) -> dict[str, Any]:
    """Ray's prepare_config + validate_config; any refusal becomes an InvalidInputError naming the file."""
    from ray.autoscaler._private.util import prepare_config, validate_config  # Ray only for this command

    logging.getLogger("ray.autoscaler._private.util").setLevel(logging.WARNING)  # its INFO lines are noise here

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInputError(str(path), f"cannot read it ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise InvalidInputError(str(path), f"not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise InvalidInputError(str(path), "a cluster file is a YAML mapping")
    try:
        config = prepare_config(raw)
        validate_config(config)
    except Exception as e:  # Ray raises jsonschema, Value and Key errors; its message is the useful part
        message = getattr(e, "message", None) or str(e)
        raise InvalidInputError(str(path), f"Ray refuses it: {type(e).__name__}: {message}") from None
    types = config["available_node_types"]
    return {
        "file": str(path),
        "cluster_name": config.get("cluster_name"),
        "provider": config["provider"]["type"],
        "node_types": {
            name: {"min": t.get("min_workers", 0), "max": t.get("max_workers", 0), "resources": t.get("resources", {})}
            for name, t in types.items()
        },
        "max_workers": config.get("max_workers"),
    }


def cmd_cluster(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    if args.action == "check":
        out = check_cluster_file(Path(args.file))
        if not args.json:
            print(f"{out['file']}: valid ({out['provider']}, {len(out['node_types'])} node types)")
            for name, t in out["node_types"].items():
                print(f"  {name:<12} {t['min']}–{t['max']} nodes  {t['resources']}")
        return out
    import ray

    from actors.job_store import JobStore
    from actors.scaling import request_capacity
    from cluster.cli_jobs import redis_url
    from cluster.runtime import start_ray

    if args.queue not in QUEUES:
        raise InvalidInputError("--queue", f"{args.queue!r} (choose from {', '.join(QUEUES)})")
    if args.workers < 0:
        raise InvalidInputError("--workers", "must be 0 or more")
    store = JobStore(redis_url(settings))
    store.set_cap(args.queue, args.workers)
    joined = not ray.is_initialized()
    start_ray(address=args.address or settings.ray_address or "auto")
    try:
        state = store.dispatcher_state()
        caps = {**(state["caps"] if state else {}), **store.caps()}
        outcome = request_capacity(caps)
    finally:
        if joined:
            ray.shutdown()
    if not args.json:
        print(f"{args.queue}: {args.workers} slot(s); {outcome}")
    return {"queue": args.queue, "workers": args.workers, "caps": caps, "autoscaler": outcome}


def add_parsers(sub: Any) -> None:
    c = sub.add_parser("cluster", help="check a `ray up` file; ask the autoscaler for queue capacity")
    acts = c.add_subparsers(dest="action", required=True)
    ch = acts.add_parser("check", help="validate a cluster YAML offline with Ray's validator")
    ch.add_argument("file", nargs="?", default="ray_cluster.yaml")
    sc = acts.add_parser("scale", help="set a queue's slots and request nodes for them")
    sc.add_argument("--queue", required=True)
    sc.add_argument("--workers", type=int, required=True)
    sc.add_argument("--address", help="the cluster to ask (default: REELS_RAY_ADDRESS or auto)")
    for p in (ch, sc):
        p.add_argument("--json", action="store_true")
