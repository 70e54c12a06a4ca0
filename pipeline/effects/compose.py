"""Fitting, blending and compositing: blur-fill, crop-fill, crossfade, alpha-over."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _resize(frames: Tensor, h: int, w: int) -> Tensor:
    if frames.shape[-2:] == (h, w):
        return frames
    return F.interpolate(frames, size=(h, w), mode="bilinear", align_corners=False, antialias=True)


def box_blur(frames: Tensor, radius: int) -> Tensor:
    """Separable box blur with edge replication; three passes approximate a Gaussian."""
    if radius <= 0:
        return frames
    c = frames.shape[1]
    k = 2 * radius + 1
    kx = torch.full((c, 1, 1, k), 1.0 / k, device=frames.device, dtype=frames.dtype)
    ky = kx.view(c, 1, k, 1)
    x = frames
    for _ in range(3):
        x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), kx, groups=c)
        x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), ky, groups=c)
    return x


def fit_size(src_h: int, src_w: int, h: int, w: int, cover: bool) -> tuple[int, int]:
    """Size that keeps the aspect ratio and fits inside (cover=False) or covers (cover=True) h x w."""
    s = max(h / src_h, w / src_w) if cover else min(h / src_h, w / src_w)
    return max(1, round(src_h * s)), max(1, round(src_w * s))


def crop_fill(frames: Tensor, h: int, w: int) -> Tensor:
    """Scale to cover, then cut the centre."""
    ch, cw = fit_size(frames.shape[-2], frames.shape[-1], h, w, cover=True)
    x = _resize(frames, ch, cw)
    top, left = (ch - h) // 2, (cw - w) // 2
    return x[..., top : top + h, left : left + w]


def blur_fill(frames: Tensor, h: int, w: int, blur_radius: int = 6, dim: float = 0.75, work_scale: int = 8) -> Tensor:
    """Whole frame fitted in the centre over a blurred, dimmed, cover-scaled copy of itself.

    The backdrop is blurred at 1/work_scale resolution, where blur is cheap, then scaled up.
    """
    fh, fw = fit_size(frames.shape[-2], frames.shape[-1], h, w, cover=False)
    small_h, small_w = max(1, h // work_scale), max(1, w // work_scale)
    back = crop_fill(frames, small_h, small_w)
    back = _resize(box_blur(back, blur_radius) * dim, h, w)
    fore = _resize(frames, fh, fw)
    top, left = (h - fh) // 2, (w - fw) // 2
    out = back.clone()
    out[..., top : top + fh, left : left + fw] = fore
    return out


def crossfade(a: Tensor, b: Tensor, alpha: Tensor) -> Tensor:
    """(1 - alpha) * a + alpha * b, alpha per frame in [0, 1]."""
    al = alpha.to(a.device, a.dtype).view(-1, 1, 1, 1)
    return a + (b - a) * al


def alpha_over(frames: Tensor, rgb: Tensor, alpha: Tensor, top: int, left: int) -> Tensor:
    """Composite a premultiplied (3, h, w) layer with (1, h, w) alpha at (top, left), clipped to the frame."""
    H, W = frames.shape[-2:]
    h, w = rgb.shape[-2:]
    y0, x0, y1, x1 = max(0, top), max(0, left), min(H, top + h), min(W, left + w)
    if y0 >= y1 or x0 >= x1:
        return frames
    ly, lx = y0 - top, x0 - left
    fg = rgb[:, ly : ly + (y1 - y0), lx : lx + (x1 - x0)]
    a = alpha[:, ly : ly + (y1 - y0), lx : lx + (x1 - x0)]
    out = frames.clone()
    region = out[..., y0:y1, x0:x1]
    out[..., y0:y1, x0:x1] = fg + region * (1.0 - a)
    return out
