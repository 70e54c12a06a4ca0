"""A local redis-server for newcomers: loopback only, AOF on, data in the project's data folder, and private to it.

Private: the server needs a password, generated on first start and kept with its configuration in the data
folder's `redis/` (owner-only permissions; never on a command line, where `ps` would show it). A second system
started from another data folder finds the port taken by a server that does not know its password, and starts its
own on a free port (recorded in `redis/port`), so `reels users` acts on the system of its own data folder."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import redis

from pipeline.errors import MissingToolError

DEFAULT_PORT = 6399  # Ray's GCS takes 6379


def shown(url: str) -> str:
    """A Redis URL fit for a log or a terminal: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_private(path: Path, text: str) -> None:
    """Written whole with owner-only permissions from the start (never readable by others, not even briefly)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


class LocalRedis:
    """Started by `reels worker`/`reels serve` when REELS_REDIS_URL is unset; stopped (by PID) on exit."""

    def __init__(self, data_dir: Path, port: int = DEFAULT_PORT, fsync_always: bool = False) -> None:
        self.dir, self.preferred_port, self.fsync_always = data_dir / "redis", port, fsync_always
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """Where this data folder's server listens: the port it last started on for the same preferred port (another
        system may have held that one), else the preferred one."""
        recorded = self.dir / "port"
        actual, _, preferred = (recorded.read_text(encoding="utf-8") if recorded.is_file() else "").partition(" ")
        if actual.isdigit() and preferred.strip() == str(self.preferred_port):
            return int(actual)
        return self.preferred_port

    def password(self) -> str:
        """This data folder's Redis password, generated on first use."""
        secret = self.dir / "password"
        if not secret.is_file():
            self._private_dir()
            _write_private(secret, secrets.token_urlsafe(32))
        return secret.read_text(encoding="utf-8").strip()

    @property
    def url(self) -> str:
        return f"redis://:{quote(self.password(), safe='')}@127.0.0.1:{self.port}/0"

    def _private_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)

    def _ours(self, port: int) -> bool:
        """Whether the server on `port` is this data folder's (it knows our password)."""
        client = redis.Redis(host="127.0.0.1", port=port, password=self.password(), socket_timeout=2)
        try:
            return bool(client.ping())
        except redis.RedisError:  # no such password there, or not a Redis at all
            return False
        finally:
            client.close()

    def start(self, timeout_s: float = 10.0) -> str:
        self._private_dir()
        password, port = self.password(), self.port
        if _listening(port):
            if self._ours(port):
                return self.url  # another `reels` process of this data folder started it
            port = _free_port()  # someone else's server: never join it
        exe = shutil.which("redis-server")
        if exe is None:
            raise MissingToolError(
                "redis-server",
                "install it with: sudo apt-get install redis-server (or set REELS_REDIS_URL to an existing Redis)",
            )
        conf = self.dir / "redis.conf"
        lines = [
            "bind 127.0.0.1",
            f"port {port}",
            "protected-mode yes",
            f"requirepass {password}",
            "appendonly yes",
            f"appendfsync {'always' if self.fsync_always else 'everysec'}",
            f'dir "{self.dir.resolve()}"',
        ]
        _write_private(conf, "\n".join(lines) + "\n")
        _write_private(self.dir / "port", f"{port} {self.preferred_port}\n")
        self.proc = subprocess.Popen([exe, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        # Ready once it answers: it listens while it is still loading its AOF, and refuses commands until done.
        while not (_listening(port) and self._ours(port)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on 127.0.0.1:{port} (see {self.dir})")
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
