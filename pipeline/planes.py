"""Frames as YUV planes: BT.709 luma in [0, 1] and 4:2:0 chroma centred on 0 until the final quantisation, so
blends, fades, premultiplied captions and gains are the same linear operations as in RGB."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pipeline.effects.compose import enlarge, mix_channels, pool2
from pipeline.plan import VideoLayer

LUMA = torch.tensor([[0.2126, 0.7152, 0.0722]])
CHROMA = torch.tensor([[-0.1146, -0.3854, 0.5], [0.5, -0.4542, -0.0458]])
_ZERO1, _ZERO2 = torch.zeros(1), torch.zeros(2)


@dataclass
class Planes:
    """A batch of frames as planes: y (N, H, W) in [0, 1], uv (N, 2, H/2, W/2) centred on 0."""

    y: Tensor
    uv: Tensor

    def to_rgb(self) -> Tensor:
        """(N, 3, H, W) RGB in [0, 1], for previews and notebooks (chroma upsampled)."""
        uv = F.interpolate(self.uv, scale_factor=2, mode="nearest")
        y, u, v = self.y, uv[:, 0], uv[:, 1]
        r = y + 1.5748 * v
        g = y - 0.1873 * u - 0.4681 * v
        b = y + 1.8556 * u
        return torch.stack([r, g, b], dim=1).clamp(0, 1)

    def pack(self, out: np.ndarray | None = None, consume: bool = False) -> np.ndarray:
        """(N, H*3/2, W) uint8 yuv420p, BT.709 limited range, ready for libx264; into `out` when given."""
        n, h, w = self.y.shape
        packed = np.empty((n, h * 3 // 2, w), dtype=np.uint8) if out is None else out
        chroma = packed[:, h:].reshape(n, 2, h // 2, w // 2)
        self.pack_into([(packed[k, :h], chroma[k, 0], chroma[k, 1]) for k in range(n)], consume)
        return packed

    def pack_into(self, frames: Sequence[FramePlanes], consume: bool = False) -> None:
        """Quantise into each frame's (y, u, v) byte planes (2-D, rows at least as wide as the planes: x264's
        frames pad their rows).

        `consume=True` does the arithmetic in the planes' own memory (they hold codes afterwards): a fresh 8 MB
        tensor costs more to fault in than the arithmetic on it (3.4 against 0.2 ms a 1080x1920 plane here)."""
        w = self.y.shape[-1]
        y = (self.y if consume else self.y.clone()).mul_(219.0).add_(16.5).clamp_(0, 255)
        uv = (self.uv if consume else self.uv.clone()).mul_(224.0).add_(128.5).clamp_(0, 255)
        if self.y.device.type != "cpu":
            y, uv = y.to(torch.uint8).cpu(), uv.to(torch.uint8).cpu()
        # numpy converts float to bytes 7x faster than torch's copy_ on CPU (0.15 against 1.07 ms a 1080x1920
        # plane); in range after the clamp, its truncation is the rounding.
        for k, (dy, du, dv) in enumerate(frames):
            np.copyto(dy[:, :w], y[k].numpy(), casting="unsafe")
            np.copyto(du[:, : w // 2], uv[k, 0].numpy(), casting="unsafe")
            np.copyto(dv[:, : w // 2], uv[k, 1].numpy(), casting="unsafe")


# One frame's y, u and v byte planes.
FramePlanes = tuple[np.ndarray, np.ndarray, np.ndarray]


def rgb_to_planes(rgb: Tensor) -> Planes:
    """(N, 3, h, w) RGB (h, w even) -> planes; chroma from 2x2-averaged RGB."""
    y = mix_channels(rgb, LUMA, _ZERO1)[:, 0]
    uv = mix_channels(pool2(rgb), CHROMA, _ZERO2)
    return Planes(y, uv)


def enlarge_into(out: Planes, small: Planes, k: int, rows: tuple[int, int]) -> None:
    """Rows [r0, r1) (even) of `small` (chroma at full resolution) enlarged k times (even) into `out`."""
    _, h, w = out.y.shape
    r0, r1 = rows
    enlarge(small.y.unsqueeze(1), k, h, w, rows, out=out.y[:, r0:r1].unsqueeze(1))
    enlarge(small.uv, k // 2, h // 2, w // 2, (r0 // 2, r1 // 2), out=out.uv[:, :, r0 // 2 : r1 // 2])


def empty_planes(n: int, h: int, w: int, device: torch.device) -> Planes:
    return Planes(torch.empty(n, h, w, device=device), torch.empty(n, 2, h // 2, w // 2, device=device))


def small_rgb_planes(rgb: Tensor) -> Planes:
    """Planes of a small RGB image at full chroma resolution (it is about to be enlarged anyway)."""
    return Planes(mix_channels(rgb, LUMA, _ZERO1)[:, 0], mix_channels(rgb, CHROMA, _ZERO2))


def layer_progress(layer: VideoLayer, times: np.ndarray) -> Tensor:
    """Where the times are in a layer, 0 at its start to 1 at its end (what effects take as `t`)."""
    t = torch.as_tensor((times - layer.start) / max(1e-6, layer.end - layer.start), dtype=torch.float32)
    return t.clamp(0, 1)


def even(x: int) -> int:
    return x - x % 2
