"""The procedural background: slowly drifting colour fields from a seed, for reels without footage (torch)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def palette_for(seed: int) -> Tensor:
    """Three related colours from a seed: a hue walk in HSV with rich saturation."""
    rng = np.random.default_rng(seed)
    h0 = rng.random()
    cols = []
    for k, (s, v) in enumerate(((0.75, 0.45), (0.65, 0.7), (0.85, 0.3))):
        h = (h0 + 0.12 * k) % 1.0
        i, f = int(h * 6), h * 6 - int(h * 6)
        p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
        cols.append([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i % 6])
    return torch.tensor(cols, dtype=torch.float32)


def seed_for(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


class ProceduralSource:
    """Slowly drifting colour fields (a low-frequency plasma), computed small and scaled up."""

    def __init__(self, seed: int, width: int, height: int, work_scale: int = 8) -> None:
        self.width, self.height = width, height
        self.palette = palette_for(seed)
        rng = np.random.default_rng(seed + 1)
        self.phase = torch.tensor(rng.uniform(0, 2 * math.pi, 4), dtype=torch.float32)
        self.sh, self.sw = max(4, height // work_scale), max(4, width // work_scale)

    def frames(self, times: np.ndarray, device: torch.device) -> Tensor:
        t = torch.as_tensor(times, dtype=torch.float32, device=device).view(-1, 1, 1)
        ys = torch.linspace(0, 1, self.sh, device=device).view(1, -1, 1)
        xs = torch.linspace(0, 1, self.sw, device=device).view(1, 1, -1)
        ph = self.phase.to(device)
        v = (
            torch.sin(xs * 3.1 + t * 0.9 + ph[0])
            + torch.sin(ys * 2.3 - t * 0.7 + ph[1])
            + torch.sin((xs + ys) * 2.7 + t * 0.5 + ph[2])
            + torch.sin(torch.sqrt((xs - 0.5) ** 2 + (ys - 0.5) ** 2) * 6.0 - t * 1.3 + ph[3])
        )
        u = (v / 4.0 + 1.0) / 2.0  # 0..1
        pal = self.palette.to(device)
        # Blend across the three palette colours: 0 -> c0, 0.5 -> c1, 1 -> c2.
        a = (1 - (2 * u - 1).abs()).unsqueeze(1)
        lo = (u < 0.5).unsqueeze(1)
        c_edge = torch.where(lo, pal[0].view(1, 3, 1, 1), pal[2].view(1, 3, 1, 1))
        small = c_edge * (1 - a) + pal[1].view(1, 3, 1, 1) * a
        return F.interpolate(small, size=(self.height, self.width), mode="bilinear", align_corners=False)
