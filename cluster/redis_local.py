"""A local redis-server for newcomers: loopback only, AOF on, data in the project's data folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from pipeline.errors import MissingToolError

DEFAULT_PORT = 6399  # Ray's GCS takes 6379


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class LocalRedis:
    """Started by `reels worker`/`reels serve` when REELS_REDIS_URL is unset; stopped (by PID) on exit."""

    def __init__(self, data_dir: Path, port: int = DEFAULT_PORT, fsync_always: bool = False) -> None:
        self.dir, self.port, self.fsync_always = data_dir / "redis", port, fsync_always
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> str:
        if _listening(self.port):
            return self.url  # one is already serving this data folder's port (another `reels` process)
        exe = shutil.which("redis-server")
        if exe is None:
            raise MissingToolError(
                "redis-server",
                "install it with: sudo apt-get install redis-server (or set REELS_REDIS_URL to an existing Redis)",
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                exe,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--appendonly",
                "yes",
                "--dir",
                str(self.dir),
                "--protected-mode",
                "yes",
                "--appendfsync",
                "always" if self.fsync_always else "everysec",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on 127.0.0.1:{self.port} (see {self.dir})")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: what a crash looks like (only what the AOF holds survives)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
