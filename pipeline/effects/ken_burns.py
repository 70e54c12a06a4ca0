"""Ken Burns: a slow zoom and pan across the frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class KenBurns:
    zoom_start: float = 1.0
    zoom_end: float = 1.12
    pan_x: float = 0.0  # -1..1: how far the centre travels toward the right edge by the end
    pan_y: float = 0.0

    # Applied to the fitted output frame (True) or to the source before fitting (False, cheaper).
    on_output: ClassVar[bool] = False

    def apply(self, frames: Tensor, t: Tensor) -> Tensor:
        n, _, h, w = frames.shape
        tt = t.to(frames.device, torch.float32).reshape(n)
        scale = 1.0 / (self.zoom_start + (self.zoom_end - self.zoom_start) * tt)
        # Keep the window inside the frame: the centre may move at most (1 - scale).
        cx = self.pan_x * tt * (1.0 - scale)
        cy = self.pan_y * tt * (1.0 - scale)
        # Scale + translate is separable: build the sampling grid from two vectors instead of affine_grid.
        xs = (torch.arange(w, device=frames.device, dtype=torch.float32) * 2 + 1) / w - 1
        ys = (torch.arange(h, device=frames.device, dtype=torch.float32) * 2 + 1) / h - 1
        gx = (xs.view(1, 1, w) * scale.view(n, 1, 1) + cx.view(n, 1, 1)).expand(n, h, w)
        gy = (ys.view(1, h, 1) * scale.view(n, 1, 1) + cy.view(n, 1, 1)).expand(n, h, w)
        grid = torch.stack((gx, gy), dim=-1)
        return F.grid_sample(frames, grid, mode="bilinear", padding_mode="border", align_corners=False)
