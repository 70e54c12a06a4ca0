"""Why background work gives way: x264's speed beside a little low-priority work, in long or short pieces.

    .venv/bin/python bench/give_way.py [--seconds 10] [--rounds 2]

The renderer composes, decodes ahead and mixes the audio on low-priority threads while x264 encodes (see
pipeline/low_priority.py). This measures, in one run, x264 encode-only frames/s (the frames of a rendered standard reel,
as bench/render.py's limit) alone, and beside a thread doing 0.18 of a core of plain arithmetic:
- in 3.3 ms pieces (about one frame's composing) 55 times a second, at nice 19, then at SCHED_IDLE;
- in the same pieces split into ten of 0.33 ms with a sched_yield between (what pipeline.low_priority.give_way and
  the frame kernels do).
Rows alternate within each round; the table gives each row's median over the rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numba as nb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from render import decode_frames, encode_only, make_plan  # noqa: E402

from pipeline.render import render  # noqa: E402

PIECE_S = 3.3e-3
RATE = 55.0  # pieces a second: 0.18 of a core


@nb.njit(nogil=True, cache=True)
def _arithmetic(n: int) -> float:
    x = 0.0
    for _ in range(n):
        x = x * 0.999999 + 1.0
    return x


def _work(stop: threading.Event, n: int, idle: bool, split: int) -> None:
    tid = threading.get_native_id()
    os.setpriority(os.PRIO_PROCESS, tid, 19)
    if idle:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    t0, k = time.perf_counter(), 0
    while not stop.is_set():
        for _ in range(split):
            _arithmetic(n // split)
            if split > 1:
                os.sched_yield()
        k += 1
        time.sleep(max(0.0, t0 + k / RATE - time.perf_counter()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the reel whose frames x264 encodes")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error(f"--rounds must be at least 1, not {args.rounds}")
    if not args.seconds > 0:
        ap.error(f"--seconds must be positive, not {args.seconds:g}")
    _arithmetic(1000)
    t = time.perf_counter()
    _arithmetic(2_000_000)
    n = int(2_000_000 * PIECE_S / (time.perf_counter() - t))
    rows = {
        "alone": None,
        "3.3 ms pieces, nice 19": (False, 1),
        "3.3 ms pieces, SCHED_IDLE": (True, 1),
        "0.33 ms pieces with a yield between, nice 19": (False, 10),
    }
    fps: dict[str, list[float]] = {name: [] for name in rows}
    with tempfile.TemporaryDirectory(prefix="reels-give-way-") as tmp:
        plan = make_plan(Path(tmp), args.seconds, 1080, 1920)
        render(plan, Path(tmp) / "reel.mp4")
        frames = decode_frames(Path(tmp) / "reel.mp4")
        for r in range(args.rounds):
            for name, how in rows.items():
                stop = threading.Event()
                worker = None
                if how is not None:
                    worker = threading.Thread(target=_work, args=(stop, n, *how), daemon=True)
                    worker.start()
                seconds = encode_only(plan, frames, Path(tmp) / "encode.mp4")
                stop.set()
                if worker is not None:
                    worker.join()
                fps[name].append(len(frames) / seconds)
                print(f"round {r + 1}: {name}: {fps[name][-1]:.1f} frames/s", file=sys.stderr)
    alone = statistics.median(fps["alone"])
    cpus = os.cpu_count()
    print(f"\nx264 encode-only, {len(frames)} frames of 1080x1920, {cpus} CPUs, medians of {args.rounds} rounds")
    print("\n| beside x264 | frames/s | vs alone |\n|---|---:|---:|")
    for name, values in fps.items():
        f = statistics.median(values)
        print(f"| {name} | {f:.1f} | {f / alone:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
