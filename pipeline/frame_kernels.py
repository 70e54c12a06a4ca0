"""One pass per plane for the CPU compositor's common frame: footage blur-filled, zoomed, graded and vignetted,
captions on top, quantised to the bytes x264 takes.

The torch compositor (pipeline.compositor) runs each step as its own operation over the whole frame; on a CPU every
operation reads and writes megabytes, and at 1080x1920 that memory traffic, not the arithmetic, is the cost. So are
the ~150 small operations on the little backdrop image, at 5-10 us of dispatch each. Here the same arithmetic runs
row by row in buffers that stay in cache, and each output byte is written once. The kernels are compiled by numba
on first use and cached on disk. The torch path stays the reference (and the GPU path): tests hold the two to the
same picture, within one code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_F32 = np.float32


@intrinsic
def _sched_yield(typingctx):  # type: ignore[no-untyped-def]
    """sched_yield() from inside a kernel, linked by symbol name so that the compiled kernel stays cacheable."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
        return builder.call(fn, [])

    return types.int32(), codegen


_give_way = cast(Callable[[], int], _sched_yield)  # as kernels call it (the same object: numba sees the intrinsic)


# Kernels hand the CPU to any thread waiting for it about every this many values (~0.1 ms) when asked to: see
# pipeline.low_priority.give_way, which this is from inside a kernel.
GIVE_WAY = 1 << 17


@nb.njit(cache=True, nogil=True, inline="always")
def _graded(code: np.uint8, gain: np.float32, offset: np.float32, low: np.float32, high: np.float32) -> np.float32:
    """A stored code graded: code * gain + offset, clamped to (low, high) (the order and float32 rounding of
    compositor._blur_fill_yuv's operations on whole planes). Callers pass the four as locals, not array reads:
    LLVM cannot vectorize a loop that reads them from memory it cannot prove unaliased."""
    return min(max(np.float32(code) * gain + offset, low), high)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def axis_points(n: int, scale: np.float32, centre: np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Where n output pixels of a zoomed/panned axis read the source, as grid_sample computes it (align_corners
    False, border padding, float32): the lower source index and the weight of the next."""
    i0 = np.empty(n, np.int32)
    w = np.empty(n, np.float32)
    nf, one, two = np.float32(n), np.float32(1.0), np.float32(2.0)
    for i in range(n):
        g = (np.float32(i) * two + one) / nf - one
        g = g * scale + centre
        x = ((g + one) * nf - one) / two
        x = min(max(x, np.float32(0.0)), nf - one)
        f = np.floor(x)
        i0[i] = np.int32(f)
        w[i] = x - f
    return i0, w


@nb.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def _sample(img: np.ndarray, y0: np.ndarray, wy: np.ndarray, x0: np.ndarray, wx: np.ndarray) -> np.ndarray:
    """Bilinear resample of a small image at separable points (indices clamped as border padding does)."""
    h, w = img.shape
    out = np.empty((len(y0), len(x0)), np.float32)
    for i in range(len(y0)):
        a, b, t = y0[i], min(y0[i] + 1, h - 1), wy[i]
        for j in range(len(x0)):
            c, d, u = x0[j], min(x0[j] + 1, w - 1), wx[j]
            top = img[a, c] + u * (img[a, d] - img[a, c])
            bottom = img[b, c] + u * (img[b, d] - img[b, c])
            out[i, j] = top + t * (bottom - top)
    return out


@nb.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def _box_blur(img: np.ndarray, radius: int) -> np.ndarray:
    """Three box passes (rows, then columns, each time) with the edges held, as effects.compose.box_blur; each
    pass a running sum (rows one at a time, columns all at once)."""
    h, w = img.shape
    k = np.float32(2 * radius + 1)
    x = img.copy()
    y = np.empty_like(x)
    acc = np.empty(w, np.float32)
    for _ in range(3):
        for i in range(h):
            s = np.float32(0.0)
            for d in range(-radius, radius + 1):
                s += x[i, min(max(d, 0), w - 1)]
            for j in range(w):
                y[i, j] = s / k
                s += x[i, min(j + radius + 1, w - 1)] - x[i, max(j - radius, 0)]
        acc[:] = 0.0
        for d in range(-radius, radius + 1):
            acc += y[min(max(d, 0), h - 1)]
        for i in range(h):
            add, sub = min(i + radius + 1, h - 1), max(i - radius, 0)
            for j in range(w):
                x[i, j] = acc[j] / k
                acc[j] += y[add, j] - y[sub, j]
    return x


@nb.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def backdrop(
    codes: np.ndarray,
    grade: np.ndarray,
    ry: np.ndarray,
    wy: np.ndarray,
    rx: np.ndarray,
    wx: np.ndarray,
    move: np.ndarray,
    radius: int,
    dim: np.float32,
    cx0: np.ndarray,
    cwx: np.ndarray,
    down: np.ndarray,
    wide: np.ndarray,
    give_way: bool,
) -> None:
    """The blur-fill backdrop's rows, enlarged across, into `wide` (hs, W): `codes` (the part of the picture that
    covers the frame), graded, resampled small with taps (ry, wy) down (into `down`, hs x bw) and (rx, wx) across;
    zoomed/panned when `move` (scale, cx, cy) is not empty; blurred; dimmed; each row widened to the frame's
    width by reading columns cx0 / cx0 + 1 blended by cwx. Gives way about every 0.1 ms when `give_way`. (The two
    big buffers are the caller's: on this VM fresh memory costs more to touch than the arithmetic done in it.)"""
    hs, ty = wy.shape
    ws, tx = wx.shape
    bw = codes.shape[1]
    ga, gb, lo, hi = grade[0], grade[1], grade[2], grade[3]
    every = max(1, GIVE_WAY // (ty * bw)) if give_way else hs + 1
    for i in range(hs):
        if i % every == every - 1:
            _give_way()
        acc = down[i]
        acc[:] = 0.0
        for t in range(ty):
            w = wy[i, t]
            line = codes[ry[i] + t]
            for x in range(bw):
                acc[x] += _graded(line[x], ga, gb, lo, hi) * w
    small = np.empty((hs, ws), np.float32)
    for i in range(hs):
        for j in range(ws):
            s = np.float32(0.0)
            for t in range(tx):
                s += down[i, rx[j] + t] * wx[j, t]
            small[i, j] = s
    if len(move) == 3:
        sx0, swx = axis_points(ws, move[0], move[1])
        sy0, swy = axis_points(hs, move[0], move[2])
        small = _sample(small, sy0, swy, sx0, swx)
    small = _box_blur(small, radius)
    W = len(cx0)
    every = max(1, GIVE_WAY // W) if give_way else hs + 1
    for i in range(hs):
        if i % every == every - 1:
            _give_way()
        for c in range(W):
            a = small[i, cx0[c]] * dim
            b = small[i, min(cx0[c] + 1, ws - 1)] * dim
            wide[i, c] = a + cwx[c] * (b - a)


@nb.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def compose_plane(
    out: np.ndarray,
    src: np.ndarray,
    grade: np.ndarray,
    top: int,
    left: int,
    y0: np.ndarray,
    wy: np.ndarray,
    x0: np.ndarray,
    wx: np.ndarray,
    wide: np.ndarray,
    j0: np.ndarray,
    wj: np.ndarray,
    gain: np.ndarray,
    sprite: np.ndarray,
    alpha: np.ndarray,
    s_top: int,
    s_left: int,
    scale: np.float32,
    bias: np.float32,
    give_way: bool,
) -> None:
    """Write one plane of a frame, W = wide.shape[1] wide, into the first W columns of `out` (H, >= W) uint8.

    - The picture: `src` (fh, fw) uint8 codes, graded (see _graded), resampled bilinearly: output
      row r of the picture reads source rows y0[r], y0[r] + 1 blended by wy[r]; column c reads x0[c], x0[c] + 1
      blended by wx[c] (see axis_points). It sits at (top, left).
    - The backdrop, wherever the picture is not: output row r blends rows j0[r] and j0[r] + 1 of `wide` by wj[r].
    - Times `gain` (H, W) when it is not empty (the vignette); then the premultiplied `sprite` with `alpha`
      (sh, sw) at (s_top, s_left), clipped to the frame; then code = value * scale + bias, clamped to 0..255 and
      truncated (Planes.pack's arithmetic).
    - When `give_way`, it gives way to other threads about every 0.1 ms (see GIVE_WAY).
    """
    H, W = out.shape[0], wide.shape[1]
    fh, fw = src.shape
    hs = wide.shape[0]
    sh, sw = alpha.shape
    row = np.empty(fw + 1, np.float32)
    val = np.empty(W, np.float32)
    has_gain = gain.shape[0] == H
    c0, c1 = max(0, -s_left), min(sw, W - s_left)
    zero, full, one = np.float32(0.0), np.float32(255.0), np.float32(1.0)
    ga, gb, lo, hi = grade[0], grade[1], grade[2], grade[3]
    every = max(1, GIVE_WAY // W) if give_way else H + 1
    for r in range(H):
        if r % every == every - 1:
            _give_way()
        pr = r - top
        inside = pr >= 0 and pr < fh
        if not inside or fw < W:
            a = j0[r]
            b = min(a + 1, hs - 1)
            w = wj[r]
            for c in range(W):
                va = wide[a, c]
                val[c] = va + w * (wide[b, c] - va)
        if inside:
            ya = y0[pr]
            yb = min(ya + 1, fh - 1)
            w = wy[pr]
            for x in range(fw):
                la = _graded(src[ya, x], ga, gb, lo, hi)
                row[x] = la + w * (_graded(src[yb, x], ga, gb, lo, hi) - la)
            row[fw] = row[fw - 1]
            for c in range(fw):
                xa = x0[c]
                ra = row[xa]
                val[left + c] = ra + wx[c] * (row[xa + 1] - ra)
        if has_gain:
            for c in range(W):
                val[c] *= gain[r, c]
        sr = r - s_top
        if sr >= 0 and sr < sh:
            for c in range(c0, c1):
                v = val[s_left + c]
                val[s_left + c] = v * (one - alpha[sr, c]) + sprite[sr, c]
        for c in range(W):
            out[r, c] = np.uint8(min(max(val[c] * scale + bias, zero), full))


@nb.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def sprite_planes(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A caption drawn as (h, w, 4) RGBA bytes -> premultiplied luma and its alpha (h, w), premultiplied U and V
    and their alpha at half resolution (h/2, w/2), cut to even sizes: what compositor._sprite makes with torch
    (BT.709, chroma from 2x2-averaged premultiplied RGB), in one pass."""
    h, w = rgba.shape[0] // 2 * 2, rgba.shape[1] // 2 * 2
    y, a = np.empty((h, w), np.float32), np.empty((h, w), np.float32)
    u = np.empty((h // 2, w // 2), np.float32)
    v = np.empty((h // 2, w // 2), np.float32)
    a2 = np.empty((h // 2, w // 2), np.float32)
    inv = np.float32(1.0 / 255.0)
    quarter = np.float32(0.25)
    every = max(2, GIVE_WAY // (4 * w) * 2)
    for i in range(0, h, 2):
        if i % every == every - 2:
            _give_way()
        for j in range(0, w, 2):
            rs = gs = bs = as_ = np.float32(0.0)
            for di in range(2):
                for dj in range(2):
                    px = rgba[i + di, j + dj]
                    al = np.float32(px[3]) * inv
                    r, g, b = np.float32(px[0]) * inv * al, np.float32(px[1]) * inv * al, np.float32(px[2]) * inv * al
                    y[i + di, j + dj] = np.float32(0.2126) * r + np.float32(0.7152) * g + np.float32(0.0722) * b
                    a[i + di, j + dj] = al
                    rs += r
                    gs += g
                    bs += b
                    as_ += al
            rs, gs, bs = rs * quarter, gs * quarter, bs * quarter
            u[i // 2, j // 2] = np.float32(-0.1146) * rs + np.float32(-0.3854) * gs + np.float32(0.5) * bs
            v[i // 2, j // 2] = np.float32(0.5) * rs + np.float32(-0.4542) * gs + np.float32(-0.0458) * bs
            a2[i // 2, j // 2] = as_ * quarter
    return y, a, u, v, a2
