"""Torch frame effects. Frames are float32 tensors (N, 3, H, W) in [0, 1] on any device.

Each effect is a small dataclass with `apply(frames, t)`, where `t` (N,) is each frame's position in its
layer (0 at the start, 1 at the end). Effects never modify their input.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from torch import Tensor

from pipeline.effects.color_grade import ColorGrade
from pipeline.effects.ken_burns import KenBurns
from pipeline.effects.vignette import Vignette
from pipeline.errors import InvalidInputError


class Effect(Protocol):
    # False: applied to the source before it is fitted to the frame (fewer pixels).
    # True: a per-pixel gain on the finished frame; such effects also provide gain(h, w, device).
    on_output: ClassVar[bool]

    def apply(self, frames: Tensor, t: Tensor) -> Tensor: ...


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
