"""GPU vs CPU: frames match within tolerance, effect timings, and a full 4K render on the GPU actor pool's code path.

    .venv/bin/python bench/gpu.py [--seconds 4] [--size 2160x3840] [--segments 4] [--skip-render]

Builds the standard reel (bench/render.py) at 4K, composes the same frames on every device present ("cpu", and
"cuda" when torch sees a GPU), compares them (max and mean absolute difference of the 8-bit planes, PSNR), times
each effect at full size (ms/frame, batch 8 on the GPU, 1 on the CPU), then renders the whole plan with
`pipeline.render.render(..., Threads(device, n))` exactly as the pool's actor does (compose on the device, the segments'
x264 encoders on the CPU cores). Without a GPU it prints the CPU rows and says so: run it again where one is.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from render import make_plan

from pipeline.compositor import Compositor
from pipeline.effects import make_effect
from pipeline.effects.compose import blur_fill
from pipeline.render import Threads, render


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_ms(device: str, fn: object, frames: int, repeat: int = 3) -> float:
    assert callable(fn)
    fn()  # warm-up (kernels, caches)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync(device)
    return 1000 * (time.perf_counter() - t0) / (repeat * frames)


def effect_rows(device: str, h: int, w: int) -> dict[str, float]:
    n = 8 if device.startswith("cuda") else 1
    src = torch.rand(n, 3, w * 9 // 16 // 2 * 2, w, device=device)  # a landscape source fitted to the width
    t = torch.linspace(0, 1, n)
    full = torch.rand(n, 3, h, w, device=device)
    rows = {}
    for name, params in (
        ("ken_burns", {"zoom_end": 1.12, "pan_x": 0.3}),
        ("color_grade", {"contrast": 1.08, "saturation": 1.1}),
    ):
        fx = make_effect(name, params)
        rows[f"{name} (source {src.shape[-1]}x{src.shape[-2]})"] = time_ms(device, lambda fx=fx: fx.apply(src, t), n)
    vignette = make_effect("vignette", {"strength": 0.35, "radius": 0.55})
    rows[f"vignette ({w}x{h})"] = time_ms(device, lambda: vignette.apply(full, t), n)
    rows[f"blur_fill ({w}x{h})"] = time_ms(device, lambda: blur_fill(src, h, w), n)
    return rows


def compare(plan: object, devices: list[str], picks: np.ndarray) -> list[str]:
    planes = {d: Compositor(plan, d).render_planes(picks).pack() for d in devices}  # type: ignore[arg-type]
    lines = []
    for d in devices[1:]:
        diff = np.abs(planes[d].astype(np.int16) - planes["cpu"].astype(np.int16))
        mse = float((diff.astype(np.float64) ** 2).mean())
        psnr = math.inf if mse == 0 else 10 * math.log10(255**2 / mse)
        ok = diff.mean() < 0.5 and psnr > 40
        lines.append(
            f"| {d} vs cpu frames | max {diff.max()} / mean {diff.mean():.3f} levels, PSNR {psnr:.1f} dB | "
            f"{'OK' if ok else 'MISMATCH'} (tolerance: mean < 0.5, PSNR > 40) |"
        )
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--size", default="2160x3840")
    ap.add_argument("--segments", type=int, default=4)
    ap.add_argument("--skip-render", action="store_true")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.lower().split("x"))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"devices: {', '.join(devices)}" + ("" if len(devices) > 1 else " (no GPU here: CPU rows only)"))
    with tempfile.TemporaryDirectory(prefix="reels-gpu-bench-") as tmp:
        plan = make_plan(Path(tmp), args.seconds, w, h)
        print("\n| check | measured | verdict |\n|---|---|---|")
        for line in compare(plan, devices, np.array([0, plan.frame_count // 2, plan.frame_count - 1])):
            print(line)
        if len(devices) == 1:
            print("| cuda vs cpu frames | not run: no GPU | — |")
        timings = {d: effect_rows(d, h, w) for d in devices}
        print("\n| effect | " + " | ".join(f"{d} ms/frame" for d in devices) + " |")
        print("|---|" + "---:|" * len(devices))
        for name in timings["cpu"]:
            print(f"| {name} | " + " | ".join(f"{timings[d][name]:.2f}" for d in devices) + " |")
        if not args.skip_render:
            print(f"\n| full render {w}x{h}, {plan.frame_count} frames, {args.segments} parallel segments | s | fps |")
            print("|---|---:|---:|")
            for d in devices:
                t0 = time.perf_counter()
                render(plan, Path(tmp) / f"{d}.mp4", Threads(d, args.segments))
                s = time.perf_counter() - t0
                print(f"| {d} | {s:.1f} | {plan.frame_count / s:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
