"""Autoscaling on Ray's fake multi-node provider: a queued gpu job makes the autoscaler add a GPU-type node and the
job runs there; idle nodes go away; `request_capacity` (the admin scale command) adds nodes for a queue's slots.

Runs in its own pytest process (`-m autoscale`, see scripts/test.sh): it starts a Ray cluster of its own. Unlike
`AutoscalingCluster`, which runs `ray stop --force` (every Ray process on the host), this one stops only itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from tests.services import free_port, wait_for

pytestmark = pytest.mark.autoscale
ROOT = Path(__file__).resolve().parents[1]


def _config(gcs_address: str) -> dict[str, Any]:
    """What ray's fake_multi_node/example.yaml would hold (the 2.60 wheel lacks it), with our node types."""
    return {
        "cluster_name": "reels-fake",
        "max_workers": 4,
        "upscaling_speed": 1.0,
        "idle_timeout_minutes": 0.05,
        "provider": {
            "type": "fake_multinode",
            "gcs_address": gcs_address,
            "use_node_id_as_ip": True,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
        },
        "auth": {"ssh_user": "ubuntu"},
        "available_node_types": {
            "ray.head.default": {"resources": {"CPU": 1}, "node_config": {}, "max_workers": 0},
            "gpu_worker": {
                "resources": {"CPU": 1, "GPU": 1, "queue_gpu": 1},
                "node_config": {},
                "min_workers": 0,
                "max_workers": 1,
            },
            "cpu_worker": {
                "resources": {"CPU": 1, "queue_video": 1, "queue_content": 1},
                "node_config": {},
                "min_workers": 0,
                "max_workers": 2,
            },
        },
        "head_node_type": "ray.head.default",
        **{k: [] for k in ("initialization_commands", "setup_commands", "head_setup_commands")},
        **{k: [] for k in ("worker_setup_commands", "head_start_ray_commands", "worker_start_ray_commands")},
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from ray._private.services import get_node_ip_address
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        pytest.skip("a Ray of this process is already running: run with -m autoscale in its own pytest")
    env = {"RAY_FAKE_CLUSTER": "1", "AUTOSCALER_UPDATE_INTERVAL_S": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    port = free_port()
    config = tmp_path_factory.mktemp("autoscale") / "cluster.json"
    config.write_text(json.dumps(_config(f"{get_node_ip_address()}:{port}")))
    head = {"num_cpus": 1, "gcs_server_port": port, "autoscaling_config": str(config), "include_dashboard": False}
    c = Cluster(initialize_head=True, head_node_args=head)
    session = Path(c.head_node.get_session_dir_path()).name
    ray.init(address=c.address, namespace="reels", runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
        _kill_session_leftovers(session)
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _kill_session_leftovers(session: str) -> None:
    """Fake worker nodes' processes (log monitors, raylets) outlive Cluster.shutdown(): end those of this session."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if session in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def _alive() -> list[dict[str, Any]]:
    return [n for n in ray.nodes() if n["Alive"]]


def test_gpu_job_brings_up_a_gpu_node_that_goes_away_when_idle(cluster: Any, redis_url: str, tmp_path: Path) -> None:
    from actors.client import JobClient
    from actors.jobs import State
    from actors.registry import RuntimeConfig
    from cluster.runtime import start_dispatcher

    assert len(_alive()) == 1 and ray.cluster_resources().get("GPU", 0) == 0
    config = RuntimeConfig(redis_url, str(tmp_path), task_modules=("tests.fault_tasks",))
    runtime = start_dispatcher(config, {"gpu": 1})
    try:
        client = JobClient(redis_url, ("tests.fault_tasks",))
        job = client.wait(client.submit("ops", "t_gpu_where", {"tag": "g"}).id, timeout=120)
        assert job.state == State.SUCCESS, job.error
        assert job.result["resources"].get("queue_gpu") == 1 and job.result["resources"].get("GPU") == 1
        wait_for(lambda: len(_alive()) == 1, timeout=90, interval=0.5)  # the idle GPU node is removed
    finally:
        ray.kill(runtime.dispatcher, no_restart=True)


def test_admin_scale_requests_nodes_for_a_queue(cluster: Any) -> None:
    from actors.scaling import request_capacity

    def video_slots() -> float:
        return sum(n["Resources"].get("queue_video", 0) for n in _alive())

    assert request_capacity({"video": 2}).startswith("requested 2 queue slot")
    wait_for(lambda: video_slots() >= 2, timeout=90, interval=0.5)
    request_capacity({})
    wait_for(lambda: video_slots() == 0, timeout=90, interval=0.5)
