"""Vignette: darken the corners so the eye stays on the centre and the captions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import torch
from torch import Tensor

from pipeline.effects.kinds import EffectKind


@lru_cache(maxsize=8)
def vignette_mask(h: int, w: int, strength: float, radius: float, device: torch.device) -> Tensor:
    ys = torch.linspace(-1.0, 1.0, h, device=device).view(h, 1)
    xs = torch.linspace(-1.0, 1.0, w, device=device).view(1, w)
    d = torch.sqrt(xs * xs + ys * ys) / (2**0.5)  # 0 at the centre, 1 in the corners
    fall = ((d - radius) / max(1e-6, 1.0 - radius)).clamp(0.0, 1.0)
    return 1.0 - strength * fall * fall


@dataclass(frozen=True)
class Vignette:
    strength: float = 0.35
    radius: float = 0.55

    kind: ClassVar[EffectKind] = "gain"

    def gain(self, h: int, w: int, device: torch.device) -> Tensor:
        """The per-pixel gain (1 in the centre); the renderer applies it to luma and chroma directly."""
        return vignette_mask(h, w, self.strength, self.radius, device)

    def apply(self, frames: Tensor, t: Tensor) -> Tensor:
        h, w = frames.shape[-2:]
        return frames * self.gain(h, w, frames.device).to(frames.dtype)
