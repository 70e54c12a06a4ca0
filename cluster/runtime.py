"""Starting or joining Ray with the queue resources, and starting the Dispatcher (the only Ray wiring in cluster/)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import ray

from actors.dispatcher import NAME, NAMESPACE, actor_class
from actors.queues import DEFAULT_SLOTS, resource
from actors.registry import RuntimeConfig


@dataclass
class Runtime:
    config: RuntimeConfig
    dispatcher: Any


def loopback_only() -> None:
    """A local Ray that heads no cluster listens on 127.0.0.1 only. Ray maps a loopback node address to the
    machine's own IP on Linux (so that other nodes can reach it), and its servers then listen on every interface;
    only with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 does it keep 127.0.0.1 as the node address, as on macOS, and bind
    every server (GCS, raylet, workers, agents, dashboard) there. The constant is read when Ray is imported, so it
    is set for this process and, through the environment, for the processes this Ray starts."""
    from ray._private import ray_constants

    os.environ[ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False


def start_ray(
    slots: dict[str, int] | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    dashboard: bool = False,
    metrics_port: int | None = None,
) -> None:
    """Join `address` (a running cluster) or start a local Ray advertising one resource per queue; `dashboard` adds
    the Ray dashboard (http://127.0.0.1:8265), `metrics_port` fixes where Prometheus scrapes the node's metrics."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, namespace=NAMESPACE)
        return
    resources = {resource(q): float(n) for q, n in {**DEFAULT_SLOTS, **(slots or {})}.items() if n > 0}
    loopback_only()
    ray.init(
        address="local",
        num_cpus=num_cpus,
        resources=resources,
        namespace=NAMESPACE,
        include_dashboard=dashboard,
        log_to_driver=False,
        _metrics_export_port=metrics_port,
    )


def start_dispatcher(config: RuntimeConfig, caps: dict[str, int] | None = None) -> Runtime:
    """The detached Dispatcher, created once; a second call returns the running one."""
    handle = (
        actor_class()
        .options(name=NAME, namespace=NAMESPACE, lifetime="detached", get_if_exists=True)
        .remote(config, {**DEFAULT_SLOTS, **(caps or {})})
    )
    ray.get(handle.ping.remote())
    return Runtime(config, handle)
