"""Torch frame effects. Frames are float32 tensors (N, 3, H, W) in [0, 1] on any device.

Each effect is a small dataclass with `apply(frames, t)`, where `t` (N,) is each frame's position in its
layer (0 at the start, 1 at the end). Effects never modify their input.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import torch
from torch import Tensor

from pipeline.effects.color_grade import ColorGrade
from pipeline.effects.ken_burns import KenBurns
from pipeline.effects.kinds import EffectKind
from pipeline.effects.vignette import Vignette
from pipeline.errors import InvalidInputError


class Effect(Protocol):
    kind: ClassVar[EffectKind]  # where it runs in the frame path (see pipeline.effects.kinds)

    def apply(self, frames: Tensor, t: Tensor) -> Tensor: ...


class ColourMap(Effect, Protocol):
    def affine(self) -> tuple[Tensor, Tensor]: ...


class Move(Effect, Protocol):
    def window(self, t: Tensor) -> tuple[Tensor, Tensor, Tensor]: ...

    def grid_axes(self, h: int, w: int, t: Tensor) -> tuple[Tensor, Tensor]: ...


class Gain(Effect, Protocol):
    def gain(self, h: int, w: int, device: torch.device) -> Tensor: ...


REGISTRY: dict[str, type] = {"ken_burns": KenBurns, "color_grade": ColorGrade, "vignette": Vignette}


def make_effect(name: str, params: dict[str, float]) -> Effect:
    cls = REGISTRY.get(name)
    if cls is None:
        raise InvalidInputError("effects", f"unknown effect {name!r} (choose from {', '.join(REGISTRY)})")
    try:
        effect: Effect = cls(**params)
    except TypeError as e:
        raise InvalidInputError("effects", f"{name}: {e}") from None
    return effect
