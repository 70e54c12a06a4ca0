"""Colour grade: exposure, contrast around mid-grey, saturation, and warmth, as one affine colour transform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from pipeline.effects.compose import mix_channels
from pipeline.effects.kinds import EffectKind

# Rec. 709 luma weights.
_LUMA = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class ColorGrade:
    brightness: float = 0.0  # added, in [0, 1] units
    contrast: float = 1.0
    saturation: float = 1.0
    warmth: float = 0.0  # + pushes red up and blue down
    kind: ClassVar[EffectKind] = "colour"

    def affine(self) -> tuple[Tensor, Tensor]:
        """(M, b) with graded = clamp(M @ rgb + b): contrast, then saturation about luma, then warmth."""
        luma = torch.tensor(_LUMA, dtype=torch.float64)
        sat = self.saturation * torch.eye(3, dtype=torch.float64) + (1 - self.saturation) * luma.expand(3, 3)
        m = sat * self.contrast
        # Saturation rows sum to 1, so a grey offset passes through it unchanged.
        b = torch.full((3,), 0.5 - 0.5 * self.contrast + self.brightness, dtype=torch.float64)
        b = b + torch.tensor([self.warmth, 0.0, -self.warmth], dtype=torch.float64)
        return m.float(), b.float()

    def apply(self, frames: Tensor, t: Tensor) -> Tensor:
        m, b = self.affine()
        return mix_channels(frames, m, b).clamp_(0.0, 1.0)
