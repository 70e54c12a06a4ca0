"""Storage benchmark: a large object up to and down from S3 through our store (actors/object_store.S3Store) against
plain boto3 managed transfer with its defaults, and the node cache's hit path, on a local SeaweedFS in one run.

    .venv/bin/python bench/storage.py [--mb 200] [--repeat 5]

Rows: each timing is the median of --repeat rounds, ours and plain boto3 taking turns to go first. Targets: ours
>= 0.9x plain boto3 each way; a cache hit makes no request to the store (requests counted with botocore's hooks).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.node_cache import NodeCache
from actors.object_store import S3Store, open_store
from tests.seaweed import LocalS3


def timed(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    src = tmp / "big.bin"
    with src.open("wb") as f:
        for _ in range(args.mb):
            f.write(secrets.token_bytes(1 << 20))
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    server = LocalS3(tmp / "seaweed")
    server.start()
    try:
        plain = server.client()
        plain.create_bucket(Bucket="bench")
        os.environ.update(server.env("bench"))  # our store reads the standard settings and the AWS chain
        ours = open_store(tmp)
        assert isinstance(ours, S3Store)
        times: dict[str, list[float]] = {"ours up": [], "boto3 up": [], "ours down": [], "boto3 down": []}
        for r in range(args.repeat):
            runs = [
                ("ours up", lambda r=r: ours.put_file(f"o/{r}", src, filename="big.bin")),
                ("boto3 up", lambda r=r: plain.upload_file(str(src), "bench", f"p/{r}")),
                ("ours down", lambda r=r: ours.get_file(f"o/{r}", tmp / "o.bin")),
                ("boto3 down", lambda r=r: plain.download_file("bench", f"p/{r}", str(tmp / "p.bin"))),
            ]
            if r % 2:  # who goes first alternates: the server warms up as it goes
                runs = [runs[1], runs[0], runs[3], runs[2]]
            for name, fn in runs:
                times[name].append(timed(fn))
            (tmp / "o.bin").unlink()
            (tmp / "p.bin").unlink()
        calls: list[str] = []
        ours.client.meta.events.register("before-send.s3", lambda request, **_: calls.append(request.method))
        cache = NodeCache(ours, tmp / "cache")
        miss = timed(lambda: cache.fetch("o/0", digest))
        miss_calls = len(calls)
        calls.clear()
        hit = timed(lambda: cache.fetch("o/0", digest))
        hit_calls = len(calls)
    finally:
        server.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    mb = args.mb

    def row(what: str, ours_s: float, peer_s: float) -> str:
        ratio = peer_s / ours_s
        verdict = "PASS" if ratio >= 0.9 else "MISS"
        return f"| {what} | {mb / ours_s:.0f} MB/s ({ours_s:.2f} s) | {mb / peer_s:.0f} MB/s ({peer_s:.2f} s) | " + (
            f"{ratio:.2f} (target ≥ 0.90) {verdict} |"
        )

    print(f"\n{mb} MB object on SeaweedFS (loopback), median of {args.repeat} rounds\n")
    print("| measure | ours | plain boto3 (defaults) | ours ÷ boto3 speed |")
    print("|---|---|---|---|")
    print(row("upload (managed, multipart)", med["ours up"], med["boto3 up"]))
    print(row("download (managed, ranged parts)", med["ours down"], med["boto3 down"]))
    print(f"| node cache miss (download + SHA-256) | {mb / miss:.0f} MB/s ({miss:.2f} s), {miss_calls} requests | | |")
    verdict = "PASS" if hit_calls == 0 else "MISS"
    print(f"| node cache hit (SHA-256 check only) | {hit:.3f} s, {hit_calls} requests | 0 requests | {verdict} |")


if __name__ == "__main__":
    main()
