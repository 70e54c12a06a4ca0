"""A layer's source effects reduced by kind (pipeline.effects.kinds): its colour maps folded into one RGB map, and
that map as per-plane gains and offsets on YUV, in float and as what it does to stored byte codes."""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
from torch import Tensor

from pipeline.effects import ColourMap, Effect, Move
from pipeline.planes import CHROMA, LUMA

_IDENTITY = (torch.eye(3), torch.zeros(3))


def split_source_effects(effects: list[Effect]) -> tuple[tuple[Tensor, Tensor], list[Move]] | None:
    """A layer's source effects as one colour map plus the geometric ones (zoom/pan), or None when some effect is
    neither (it then runs as an RGB pass). Pointwise colour maps commute with bilinear resampling."""
    m, b = _IDENTITY
    moves: list[Move] = []
    for fx in effects:
        if fx.kind == "gain":
            continue
        if fx.kind == "colour":
            fm, fb = cast(ColourMap, fx).affine()
            m, b = fm @ m, fm @ b + fb
        elif fx.kind == "move":
            moves.append(cast(Move, fx))
        else:
            return None
    return (m, b), moves


_RGB_TO_YUV = torch.cat([LUMA, CHROMA]).double()


def yuv_grade(m: Tensor, b: Tensor) -> tuple[Tensor, Tensor] | None:
    """An RGB colour map as per-plane gains and offsets in YUV, or None when it mixes luma and chroma (a grade of
    contrast, saturation, brightness and warmth never does)."""
    a = _RGB_TO_YUV
    m_yuv = a @ m.double() @ torch.linalg.inv(a)
    gain = torch.diagonal(m_yuv)
    if (m_yuv - torch.diag(gain)).abs().max() > 1e-6:
        return None
    return gain.float(), (a @ b.double()).float()


def plane_grades(gain: Tensor, offset: Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grade diagonal in YUV (yuv_grade) as what it does to each plane's stored codes: (gain, offset, low, high)
    in float32, for grade_codes and pipeline.frame_kernels alike."""
    gy, gu, gv = (float(g) for g in gain)
    oy, ou, ov = (float(o) for o in offset)
    return (
        np.array([gy / 219.0, oy - 16.0 * gy / 219.0, 0.0, 1.0], np.float32),
        np.array([gu / 224.0, ou - 128.0 * gu / 224.0, -0.5, 0.5], np.float32),
        np.array([gv / 224.0, ov - 128.0 * gv / 224.0, -0.5, 0.5], np.float32),
    )


def grade_codes(x: Tensor, grade: np.ndarray) -> Tensor:
    """Float codes of one plane graded in place: x * gain + offset, clamped to (low, high) (see plane_grades)."""
    gain, offset, low, high = (float(v) for v in grade)
    return x.mul_(gain).add_(offset).clamp_(low, high)
