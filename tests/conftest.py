from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Ray and the job system are imported inside the fixtures that need them: the Coqui test runs this conftest in an
# environment that has neither.
from tests.media import make_clip, make_tone


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def landscape_clip(media_dir: Path) -> Path:
    return make_clip(media_dir / "landscape.mp4", 320, 180, seconds=2.0)


@pytest.fixture(scope="session")
def music_wav(media_dir: Path) -> Path:
    return make_tone(media_dir / "music.wav", seconds=3.0)


@pytest.fixture(scope="session")
def corrupt_clip(media_dir: Path, landscape_clip: Path) -> Path:
    data = bytearray(landscape_clip.read_bytes())
    p = media_dir / "corrupt.mp4"
    p.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(len(data) // 3) + data[-2000:])
    return p


@pytest.fixture(scope="session")
def empty_file(media_dir: Path) -> Path:
    p = media_dir / "empty.mp4"
    p.write_bytes(b"")
    return p


requires_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.services import RedisServer, free_port

    server = RedisServer(tmp_path_factory.mktemp("redis"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:  # type: ignore[no-untyped-def]
    """A clean database for each test."""
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    return str(redis_server.url)


# ---- the job system on a real local Ray (shared by the Ray test modules) ----
MODULES = ("tests.fault_tasks",)


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    import ray

    from actors.queues import DEFAULT_SLOTS, resource
    from tests.services import free_port

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    if ray.is_initialized():  # a CLI test started its own local Ray in this process
        ray.shutdown()
    slots = {**DEFAULT_SLOTS, "gpu": 0}
    ray.init(
        address="local",  # a new cluster, never another session's Ray found on this machine
        num_cpus=2,
        resources={resource(q): n for q, n in slots.items() if n},
        namespace="reels",
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        log_to_driver=False,
        # The node's metrics agent serves Prometheus text here (it runs without the dashboard too; test_metrics.py).
        _metrics_export_port=free_port(),
        # Workers import the test task types from this checkout, whatever the current directory.
        runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}},
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def metrics_port(ray_local: None) -> int:
    """The port of this node's Ray metrics export: http://127.0.0.1:<port>/metrics."""
    import ray

    return int(next(n["MetricsExportPort"] for n in ray.nodes() if n["Alive"]))


@pytest.fixture(scope="session")
def system(ray_local: None, redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import ray

    from actors.registry import RuntimeConfig
    from cluster.runtime import start_dispatcher

    data = tmp_path_factory.mktemp("data")
    config = RuntimeConfig(
        redis_server.url, str(data), backoff_scale=0.01, task_modules=MODULES, progress_interval_s=0.1
    )
    runtime = start_dispatcher(config)
    yield {"config": config, "dispatcher": runtime.dispatcher, "data": data, "redis": redis_server}
    ray.kill(runtime.dispatcher, no_restart=True)


@pytest.fixture
def client(system: dict[str, Any], redis_url: str) -> Iterator[Any]:
    """A fresh database per test, with the default caps (a test before may have changed them through Redis, which
    the flush does not undo in the Dispatcher's memory); caps back to defaults afterwards too."""
    import ray

    from actors.client import JobClient
    from actors.queues import DEFAULT_SLOTS

    d = system["dispatcher"]
    for q, n in DEFAULT_SLOTS.items():
        ray.get(d.set_cap.remote(q, n))
    yield JobClient(redis_url, MODULES)
    for q, n in DEFAULT_SLOTS.items():
        ray.get(d.set_cap.remote(q, n))
