"""Ken Burns: a slow zoom and pan across the frame."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class KenBurns:
    zoom_start: float = 1.0
    zoom_end: float = 1.12
    pan_x: float = 0.0  # -1..1: how far the centre travels toward the right edge by the end
    pan_y: float = 0.0

    def apply(self, frames: Tensor, t: Tensor) -> Tensor:
        n = frames.shape[0]
        tt = t.to(frames.device, torch.float32).reshape(n)
        zoom = self.zoom_start + (self.zoom_end - self.zoom_start) * tt
        scale = 1.0 / zoom
        # Keep the window inside the frame: the centre may move at most (1 - scale).
        cx = self.pan_x * tt * (1.0 - scale)
        cy = self.pan_y * tt * (1.0 - scale)
        theta = torch.zeros(n, 2, 3, device=frames.device, dtype=torch.float32)
        theta[:, 0, 0] = scale
        theta[:, 1, 1] = scale
        theta[:, 0, 2] = cx
        theta[:, 1, 2] = cy
        grid = F.affine_grid(theta, list(frames.shape), align_corners=False)
        return F.grid_sample(frames, grid, mode="bilinear", padding_mode="border", align_corners=False)
