"""`reels serve` as a real subprocess (Ray Serve, its own local Ray and redis-server), stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cluster.redis_local import LocalRedis
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[1]
REELS = str(Path(sys.executable).with_name("reels"))


class ServedApp:
    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir, self.port, self.redis_port = data_dir, free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "REELS_DATA_DIR": str(data_dir),
            "REELS_LOCAL_REDIS_PORT": str(self.redis_port),  # REELS_REDIS_URL unset: `reels serve` starts one
            "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.env.pop("REELS_REDIS_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "serve.log"

    @property
    def redis_url(self) -> str:
        """The data folder's own Redis, with its password (`reels serve` started it)."""
        return LocalRedis(self.data_dir, self.redis_port).url

    def start(self, timeout_s: float = 120.0) -> ServedApp:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [REELS, "serve", "--port", str(self.port)], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/ready", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"reels serve did not become ready:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.5)

    def user(self, name: str, admin: bool = False) -> str:
        """`reels users create NAME [--admin]` as a user would run it: the token is the last line."""
        args = [REELS, "users", "create", name, *(["--admin"] if admin else [])]
        env = {**self.env, "REELS_REDIS_URL": self.redis_url}
        out = subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=60)
        return out.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
