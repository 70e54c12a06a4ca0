"""Asking Ray's autoscaler for capacity: nodes enough to hold every queue's slots (the admin scale command)."""

from __future__ import annotations

import ray
from ray.autoscaler.sdk import request_resources

from actors.queues import resource


def request_capacity(caps: dict[str, int], max_bundles: int = 1000) -> str:
    """Replace the standing request with one bundle per slot; a gpu slot also asks for a GPU."""
    if not ray.is_initialized():
        return "not connected to a Ray cluster: slots changed only"
    bundles: list[dict[str, float]] = []
    for queue, slots in sorted(caps.items()):
        bundle = {resource(queue): 1.0, **({"GPU": 1.0} if queue == "gpu" else {})}
        bundles += [bundle] * max(0, slots)
    request_resources(bundles=bundles[:max_bundles])
    return f"requested {min(len(bundles), max_bundles)} queue slot(s) from the autoscaler"
