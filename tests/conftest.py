from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
