"""Fitting, blending and compositing: blur-fill, crop-fill, crossfade, alpha-over."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor


def mix_channels(frames: Tensor, m: Tensor, b: Tensor) -> Tensor:
    """out[:, c] = b[c] + sum_k m[c, k] * frames[:, k] (a per-pixel affine colour map).

    Written as scaled adds: on CPU this is several times faster than a 1x1 conv2d or a matmul over 3 channels.
    """
    rows, cols = m.shape
    out = torch.empty(frames.shape[0], rows, *frames.shape[2:], device=frames.device, dtype=frames.dtype)
    for c in range(rows):
        o = out[:, c]
        torch.mul(frames[:, 0], float(m[c, 0]), out=o)
        for k in range(1, cols):
            o.add_(frames[:, k], alpha=float(m[c, k]))
        o.add_(float(b[c]))
    return out


def pool2(x: Tensor) -> Tensor:
    """2x2 average (chroma subsampling); strided adds beat avg_pool2d on CPU by almost 2x."""
    out = x[..., 0::2, 0::2] + x[..., 1::2, 0::2]
    out += x[..., 0::2, 1::2]
    out += x[..., 1::2, 1::2]
    return out.mul_(0.25)


def resize(frames: Tensor, h: int, w: int) -> Tensor:
    if frames.shape[-2:] == (h, w):
        return frames
    # Antialiasing only matters when shrinking, and its kernel is several times slower when enlarging.
    shrink = h < frames.shape[-2] or w < frames.shape[-1]
    return F.interpolate(frames, size=(h, w), mode="bilinear", align_corners=False, antialias=shrink)


def box_blur(frames: Tensor, radius: int) -> Tensor:
    """Box blur with edge replication, three passes (close to a Gaussian). Each pass is a running sum (a cumulative
    sum and one subtraction), whatever the radius: 4x faster than avg_pool2d on a small backdrop, 3x on 1080x1920."""
    if radius <= 0:
        return frames
    k = 2 * radius + 1
    x = frames
    for _ in range(3):
        for dim in (-1, -2):  # separable: a row pass then a column pass
            n = x.shape[dim]
            padded = F.pad(x, (radius, radius, 0, 0) if dim == -1 else (0, 0, radius, radius), mode="replicate")
            sums = F.pad(padded.cumsum(dim), (1, 0, 0, 0) if dim == -1 else (0, 0, 1, 0))
            x = (sums.narrow(dim, k, n) - sums.narrow(dim, 0, n)).div_(k)
    return x


@dataclass(frozen=True)
class _Run:
    """Output rows [start, stop) that blend small rows j and j + 1 (j + 1 is j at the clamped edges); `blocks` > 1
    when the run is that many whole, consecutive k-row blocks sharing one weight pattern."""

    start: int
    stop: int
    j: int
    edge: bool
    blocks: int = 1


def enlarge_source(small_rows: int, k: int, first: int, stop: int) -> tuple[Tensor, Tensor]:
    """Rows first..stop of a k-times bilinear enlargement (align_corners=False, edges held: the arithmetic of
    F.interpolate): the small row each reads (int64) and the weight of the row below it."""
    src = ((torch.arange(first, stop, dtype=torch.float64) + 0.5) / k - 0.5).clamp(min=0.0)
    i0 = src.floor().long().clamp(max=small_rows - 1)
    return i0, (src - i0).to(torch.float32)


@lru_cache(maxsize=64)
def _row_runs(small_rows: int, k: int, first: int, stop: int) -> tuple[tuple[_Run, ...], Tensor]:
    """How rows `first..stop` of a k-times bilinear enlargement (align_corners=False, edges held: the arithmetic
    of F.interpolate) read the small rows: runs of rows between the same two small rows, with each row's weight."""
    i0, weight = enlarge_source(small_rows, k, first, stop)
    runs: list[_Run] = []
    r = 0
    for j, count in zip(*torch.unique_consecutive(i0, return_counts=True), strict=True):
        j, count = int(j), int(count)
        run = _Run(r, r + count, j, edge=j == small_rows - 1)  # rows held at the top blend with weight 0
        last = runs[-1] if runs else None
        if (
            last is not None
            and count == k
            and not run.edge
            and not last.edge
            and last.stop - last.start == k * last.blocks
            and last.j + last.blocks == j
        ):
            runs[-1] = _Run(last.start, run.stop, last.j, False, last.blocks + 1)
        else:
            runs.append(run)
        r += count
    return tuple(runs), weight


def enlarge(
    small: Tensor, k: int, h: int, w: int, rows: tuple[int, int] | None = None, out: Tensor | None = None
) -> Tensor:
    """Bilinear k-times enlargement of `small` (N, C, hs, ws), centre-cropped to h x w (hs*k >= h, ws*k >= w);
    only `rows` (start, stop) of the result when given, written into `out` when given.

    Columns are interpolated at the small height; rows are blended block by block with one broadcast multiply-add
    for all the whole k-row blocks, written straight into `out`: a band costs its own pixels only, and nothing is
    gathered (F.interpolate to 1080x1920 costs 2.9 ms a plane on one core)."""
    hs, ws = small.shape[-2:]
    if hs * k < h or ws * k < w:
        raise ValueError(f"a {hs}x{ws} image enlarged {k} times does not cover {h}x{w}")
    left, top = (ws * k - w) // 2, (hs * k - h) // 2
    r0, r1 = rows or (0, h)
    runs, weight = _row_runs(hs, k, top + r0, top + r1)
    weight = weight.to(small.device)
    # Only the small rows this band reads are widened.
    j0, j1 = runs[0].j, min(hs, runs[-1].j + runs[-1].blocks + 1)
    wide = F.interpolate(
        small[..., j0:j1, :], scale_factor=(1.0, float(k)), mode="bilinear", recompute_scale_factor=False
    )[..., left : left + w]
    step = wide[..., 1:, :] - wide[..., :-1, :]
    if out is None:
        out = torch.empty(*wide.shape[:-2], r1 - r0, w, device=small.device, dtype=small.dtype)
    for run in runs:
        dest, j = out[..., run.start : run.stop, :], run.j - j0
        if run.edge:
            dest.copy_(wide[..., j : j + 1, :].expand_as(dest))
        elif run.blocks == 1:
            wt = weight[run.start : run.stop].view(-1, 1)
            torch.addcmul(wide[..., j : j + 1, :], wt, step[..., j : j + 1, :], out=dest)
        else:  # whole blocks: rows (block, k) against small rows (block, 1)
            blocks = dest.unflatten(-2, (run.blocks, k))
            js = slice(j, j + run.blocks)
            wt = weight[run.start : run.start + k].view(k, 1)
            torch.addcmul(wide[..., js, :].unsqueeze(-2), wt, step[..., js, :].unsqueeze(-2), out=blocks)
    return out


def fit_size(src_h: int, src_w: int, h: int, w: int, cover: bool) -> tuple[int, int]:
    """Size that keeps the aspect ratio and fits inside (cover=False) or covers (cover=True) h x w."""
    s = max(h / src_h, w / src_w) if cover else min(h / src_h, w / src_w)
    return max(1, round(src_h * s)), max(1, round(src_w * s))


def crop_fill(frames: Tensor, h: int, w: int) -> Tensor:
    """Cover h x w: cut the centre of the source that will be visible, then scale only that (scaling the whole
    source first cost 120 ms a frame for landscape 1080p into 1080x1920, two thirds of it thrown away)."""
    top, left, ch, cw = cover_box(frames.shape[-2], frames.shape[-1], h, w)
    return resize(frames[..., top : top + ch, left : left + cw], h, w)


def cover_box(src_h: int, src_w: int, h: int, w: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the centre of a src_h x src_w image that, scaled, covers h x w."""
    scale = max(h / src_h, w / src_w)
    ch, cw = min(src_h, max(1, round(h / scale))), min(src_w, max(1, round(w / scale)))
    return (src_h - ch) // 2, (src_w - cw) // 2, ch, cw


# The blur-fill backdrop: cut and blurred at 1/16 of the frame, box radius 3 there, dimmed to 75 %.
BACKDROP_SCALE, BACKDROP_BLUR, BACKDROP_DIM = 16, 3, 0.75


def small_size(h: int, w: int, k: int) -> tuple[int, int]:
    """The size that, enlarged k times, covers h x w."""
    return -(-h // k), -(-w // k)


def blur_fill(
    frames: Tensor,
    h: int,
    w: int,
    blur_radius: int = BACKDROP_BLUR,
    dim: float = BACKDROP_DIM,
    work_scale: int = BACKDROP_SCALE,
) -> Tensor:
    """Whole frame fitted in the centre over a blurred, dimmed, cover-scaled copy of itself.

    The backdrop is cut and blurred at 1/work_scale of the frame, where blur is cheap, then enlarged. The renderer
    composes the same picture in YUV planes (pipeline.compositor); this RGB version is its reference.
    """
    fh, fw = fit_size(frames.shape[-2], frames.shape[-1], h, w, cover=False)
    small = crop_fill(frames, *small_size(h, w, work_scale))
    back = enlarge(box_blur(small, blur_radius) * dim, work_scale, h, w)
    fore = resize(frames, fh, fw)
    top, left = (h - fh) // 2, (w - fw) // 2
    back[..., top : top + fh, left : left + fw] = fore  # `back` is a fresh tensor: safe to write into
    return back


def crossfade(a: Tensor, b: Tensor, alpha: Tensor) -> Tensor:
    """(1 - alpha) * a + alpha * b, alpha per frame in [0, 1]."""
    al = alpha.to(a.device, a.dtype).view(-1, 1, 1, 1)
    return a + (b - a) * al


def alpha_over(frames: Tensor, rgb: Tensor, alpha: Tensor, top: int, left: int, inplace: bool = False) -> Tensor:
    """Composite a premultiplied (3, h, w) layer with (1, h, w) alpha at (top, left), clipped to the frame.

    `inplace=True` writes into `frames` (the renderer owns its buffers); otherwise the input is untouched.
    """
    H, W = frames.shape[-2:]
    h, w = rgb.shape[-2:]
    y0, x0, y1, x1 = max(0, top), max(0, left), min(H, top + h), min(W, left + w)
    if y0 >= y1 or x0 >= x1:
        return frames
    ly, lx = y0 - top, x0 - left
    fg = rgb[:, ly : ly + (y1 - y0), lx : lx + (x1 - x0)]
    a = alpha[:, ly : ly + (y1 - y0), lx : lx + (x1 - x0)]
    out = frames if inplace else frames.clone()
    region = out[..., y0:y1, x0:x1]
    region.mul_(1.0 - a).add_(fg)
    return out
