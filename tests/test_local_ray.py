"""A local Ray (reels serve, reels worker without --address) listens on loopback only: no other machine reaches
its GCS, raylet, workers, agents or dashboard."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys

_PROBE = """
import json, os, psutil, ray
from cluster.runtime import start_ray
start_ray(dashboard=True)

@ray.remote
class Echo:
    def ping(self):
        return os.getpid()

@ray.remote
def task():
    return os.getpid()

ray.get([Echo.remote().ping.remote(), task.remote()])
me = psutil.Process()
listening = []
for proc in [me, *me.children(recursive=True)]:
    try:
        conns = proc.net_connections(kind="inet")
    except psutil.Error:
        continue
    listening += [[proc.name(), c.laddr.ip, c.laddr.port] for c in conns if c.status == psutil.CONN_LISTEN]
print(json.dumps(listening))
ray.shutdown()
"""


def test_a_local_ray_listens_on_loopback_only() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=180, env={"PATH": "/usr/bin:/bin"}
    )
    assert out.returncode == 0, out.stderr[-3000:]
    listening = json.loads(out.stdout.strip().splitlines()[-1])
    names = {name for name, _, _ in listening}
    assert "gcs_server" in names and "raylet" in names and len(listening) >= 6, listening  # it saw Ray's servers
    exposed = [s for s in listening if not ipaddress.ip_address(s[1].removeprefix("::ffff:")).is_loopback]
    assert exposed == [], f"listening beyond loopback: {exposed}"
