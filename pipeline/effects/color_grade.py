"""Colour grade: exposure, contrast around mid-grey, saturation, and warmth."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

# Rec. 709 luma weights.
_LUMA = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class ColorGrade:
    brightness: float = 0.0  # added, in [0, 1] units
    contrast: float = 1.0
    saturation: float = 1.0
    warmth: float = 0.0  # + pushes red up and blue down

    def apply(self, frames: Tensor, t: Tensor) -> Tensor:
        x = (frames - 0.5) * self.contrast + 0.5 + self.brightness
        if self.saturation != 1.0:
            w = torch.tensor(_LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
            luma = (x * w).sum(dim=1, keepdim=True)
            x = luma + (x - luma) * self.saturation
        if self.warmth:
            shift = torch.tensor([self.warmth, 0.0, -self.warmth], device=x.device, dtype=x.dtype)
            x = x + shift.view(1, 3, 1, 1)
        return x.clamp(0.0, 1.0)
