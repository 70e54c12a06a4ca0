"""Ken Burns: a slow zoom and pan across the frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from pipeline.effects.kinds import EffectKind


@dataclass(frozen=True)
class KenBurns:
    zoom_start: float = 1.0
    zoom_end: float = 1.12
    pan_x: float = 0.0  # -1..1: how far the centre travels toward the right edge by the end
    pan_y: float = 0.0

    # Applied to the fitted output frame (True) or to the source before fitting (False, cheaper).
    kind: ClassVar[EffectKind] = "move"

    def window(self, t: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(N, 1) each: the visible part's size as a fraction of the frame, and its centre's offset in x and y
        (grid_sample units, -1..1)."""
        tt = t.to(torch.float32).reshape(t.numel(), 1)
        scale = 1.0 / (self.zoom_start + (self.zoom_end - self.zoom_start) * tt)
        # Keep the window inside the frame: the centre may move at most (1 - scale).
        return scale, self.pan_x * tt * (1.0 - scale), self.pan_y * tt * (1.0 - scale)

    def grid_axes(self, h: int, w: int, t: Tensor) -> tuple[Tensor, Tensor]:
        """Where output columns (N, w) and rows (N, h) sample the source, in grid_sample's normalised units.
        Scale + translate is separable: the sampling grid is these two vectors crossed."""
        scale, cx, cy = self.window(t)
        xs = (torch.arange(w, device=t.device, dtype=torch.float32) * 2 + 1) / w - 1
        ys = (torch.arange(h, device=t.device, dtype=torch.float32) * 2 + 1) / h - 1
        return xs * scale + cx, ys * scale + cy

    def apply(self, frames: Tensor, t: Tensor) -> Tensor:
        n, _, h, w = frames.shape
        gx, gy = self.grid_axes(h, w, t.to(frames.device))
        grid = torch.stack((gx.view(n, 1, w).expand(n, h, w), gy.view(n, h, 1).expand(n, h, w)), dim=-1)
        return F.grid_sample(frames, grid, mode="bilinear", padding_mode="border", align_corners=False)
