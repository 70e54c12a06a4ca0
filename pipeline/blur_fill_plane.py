"""The one-pass CPU frame's planes: what stays the same from frame to frame of a blur-fill layout (resize taps, where
the picture sits, scratch buffers), one plane rendered through the kernels of pipeline.frame_kernels, and loading
those kernels ahead of a render. `python -m pipeline.blur_fill_plane` compiles them into numba's disk cache."""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.effects.compose import BACKDROP_BLUR, BACKDROP_DIM, BACKDROP_SCALE, cover_box, enlarge_source, small_size
from pipeline.frame_kernels import axis_points, backdrop, compose_plane, sprite_planes
from pipeline.low_priority import Background

_F32 = np.float32


@lru_cache(maxsize=32)
def resize_taps(n_in: int, n_out: int, antialias: bool) -> tuple[np.ndarray, np.ndarray]:
    """The taps of effects.compose.resize along one axis, taken from torch itself (so the two agree): for each
    output pixel a first input index and the weights of the inputs from there (zero-padded to a common count)."""
    # One-hot rows through the real resize; the other axis is 2 wide (torch treats a 1-wide axis differently).
    eye = torch.eye(n_in).view(n_in, 1, n_in, 1).expand(n_in, 1, n_in, 2).contiguous()
    m = F.interpolate(eye, size=(n_out, 2), mode="bilinear", align_corners=False, antialias=antialias)[:, 0, :, 0]
    nonzero = m != 0
    first = nonzero.float().argmax(0)
    last = n_in - 1 - nonzero.flip(0).float().argmax(0)
    taps = int((last - first).max()) + 1
    start = first.clamp(max=n_in - taps)
    weights = np.zeros((n_out, taps), np.float32)
    for j in range(n_out):
        s = int(start[j])
        weights[j] = m[s : s + taps, j].numpy()
    return start.to(torch.int32).numpy(), weights


@dataclass(frozen=True)
class PlaneGeometry:
    """Everything about one plane of a blur-fill frame that does not change from frame to frame."""

    height: int  # the output plane
    width: int
    top: int  # where the picture sits
    left: int
    box: tuple[int, int, int, int]  # the picture's part that covers the frame: top, left, height, width
    rows: tuple[np.ndarray, np.ndarray]  # resize taps down to the backdrop's height
    cols: tuple[np.ndarray, np.ndarray]  # and across to its width
    enlarge_rows: tuple[np.ndarray, np.ndarray]  # output row -> backdrop row and weight
    enlarge_cols: tuple[np.ndarray, np.ndarray]  # output column -> backdrop column and weight
    scale: np.float32  # value -> code
    bias: np.float32
    down: np.ndarray  # scratch: the backdrop resampled down (hs, box width)
    wide: np.ndarray  # scratch: the backdrop enlarged across (hs, width)


def blur_fill_geometry(height: int, width: int, fh: int, fw: int) -> tuple[PlaneGeometry, ...]:
    """The Y, U and V planes' geometry of a height x width blur-fill frame around a picture of fh x fw (even),
    as compositor._fill places it."""
    hs, ws = small_size(height, width, BACKDROP_SCALE)
    planes = []
    for sub, scale, bias in ((1, 219.0, 16.5), (2, 224.0, 128.5), (2, 224.0, 128.5)):
        h, w, k = height // sub, width // sub, BACKDROP_SCALE // sub
        box = cover_box(fh // sub, fw // sub, hs, ws)
        shrink = hs < box[2] or ws < box[3]  # as compose.resize decides
        rows = enlarge_source(hs, k, (hs * k - h) // 2, (hs * k - h) // 2 + h)
        cols = enlarge_source(ws, k, (ws * k - w) // 2, (ws * k - w) // 2 + w)
        planes.append(
            PlaneGeometry(
                height=h,
                width=w,
                top=(height - fh) // 2 // 2 * 2 // sub,
                left=(width - fw) // 2 // 2 * 2 // sub,
                box=box,
                rows=resize_taps(box[2], hs, shrink),
                cols=resize_taps(box[3], ws, shrink),
                enlarge_rows=(rows[0].to(torch.int32).numpy(), rows[1].numpy()),
                enlarge_cols=(cols[0].to(torch.int32).numpy(), cols[1].numpy()),
                scale=np.float32(scale),
                bias=np.float32(bias),
                down=np.empty((hs, box[3]), np.float32),
                wide=np.empty((hs, w), np.float32),
            )
        )
    return tuple(planes)


def render_plane(
    g: PlaneGeometry,
    out: np.ndarray,
    codes: np.ndarray,
    grade: np.ndarray,
    move: np.ndarray,
    gain: np.ndarray,
    sprite: tuple[np.ndarray, np.ndarray, int, int] | None,
    give_way: bool = True,
) -> None:
    """One plane: backdrop from the picture's codes, then the picture (zoomed when `move` is (scale, cx, cy)),
    gain, caption and quantisation, into `out`; giving way to other threads about every 0.1 ms when `give_way`
    (see frame_kernels.GIVE_WAY)."""
    bt, bl, bh, bw = g.box
    backdrop(
        codes[bt : bt + bh, bl : bl + bw],
        grade,
        *g.rows,
        *g.cols,
        move,
        BACKDROP_BLUR,
        _F32(BACKDROP_DIM),
        *g.enlarge_cols,
        g.down,
        g.wide,
        give_way,
    )
    fh, fw = codes.shape
    if len(move) == 3:
        x0, wx = axis_points(fw, move[0], move[1])
        y0, wy = axis_points(fh, move[0], move[2])
    else:
        x0, wx = np.arange(fw, dtype=np.int32), np.zeros(fw, np.float32)
        y0, wy = np.arange(fh, dtype=np.int32), np.zeros(fh, np.float32)
    pic, alpha, s_top, s_left = sprite if sprite is not None else (EMPTY, EMPTY, 0, 0)
    compose_plane(
        out,
        codes,
        grade,
        g.top,
        g.left,
        y0,
        wy,
        x0,
        wx,
        g.wide,
        *g.enlarge_rows,
        gain,
        pic,
        alpha,
        s_top,
        s_left,
        g.scale,
        g.bias,
        give_way,
    )


EMPTY = np.zeros((0, 0), np.float32)  # no gain, no caption
NO_MOVE = np.zeros(0, np.float32)


def warm() -> None:
    """Compile the kernels now (numba caches them on disk): install scripts call this so that the first render
    does not spend ~2 s compiling."""
    grade = np.array([1 / 219, -16 / 219, 0.0, 1.0], np.float32)
    for sub, g in zip((1, 2, 2), blur_fill_geometry(64, 32, 16, 32), strict=True):
        codes, out = np.zeros((16 // sub, 32 // sub), np.uint8), np.zeros((g.height, g.width), np.uint8)
        gain = np.ones((g.height, g.width), np.float32)
        for move in (NO_MOVE, np.array([0.9, 0.0, 0.0], np.float32)):
            render_plane(g, out, codes, grade, move, gain, (EMPTY, EMPTY, 0, 0))
    drawn = np.zeros((4, 6, 4), np.uint8)
    drawn.flags.writeable = False  # as np.asarray() gives a PIL image
    sprite_planes(drawn)


_preloading: list[Background[None]] = []


def preload() -> None:
    """Load the kernels (compiled ones come from numba's disk cache, ~0.4 s; else ~2 s to compile) on a background
    thread, once per process, for a render about to start: its first frame waits less.

    Only where a render follows: a process that exits while numba is loading aborts (SIGABRT), so loading
    at import would crash CLI commands that never render. The exit waits for the thread, in case a render fails early; a
    failure to load is left for the real call to show."""
    if not _preloading:
        _preloading.append(Background(warm, "numba-preload"))
        atexit.register(_preloading[0].join)


if __name__ == "__main__":
    warm()
