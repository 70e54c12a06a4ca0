"""The one-pass CPU frame path: a frame made of one blur-filled BT.709 clip at full opacity (the common reel) is
composed, graded, gained, captioned and quantised in one pass per plane (pipeline/blur_fill_plane.py, over the numba
kernels of pipeline/frame_kernels.py), straight into x264's frames. Anything else goes through the compositor's torch
path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from pipeline.blur_fill_plane import EMPTY, NO_MOVE, PlaneGeometry, blur_fill_geometry, render_plane
from pipeline.effects import Move
from pipeline.footage import FootageSource
from pipeline.frame_kernels import sprite_planes
from pipeline.grading import plane_grades, split_source_effects, yuv_grade
from pipeline.plan import VideoLayer
from pipeline.planes import FramePlanes, even, layer_progress

if TYPE_CHECKING:  # the compositor makes its OnePass, which reads the compositor's layers back
    from pipeline.compositor import Compositor


@dataclass(frozen=True)
class OnePassLayer:
    """What the one-pass CPU kernel needs of a layer, fixed for the whole layer."""

    grades: tuple[np.ndarray, np.ndarray, np.ndarray]  # Y, U, V: see plane_grades
    move: Move | None
    gains: tuple[np.ndarray, np.ndarray]  # output gain (vignette) at luma and chroma resolution; EMPTY: none


class OnePass:
    def __init__(self, comp: Compositor) -> None:
        self.comp = comp
        self._layers: dict[int, OnePassLayer | None] = {}
        self._geometries: dict[tuple[int, int], tuple[PlaneGeometry, ...]] = {}
        self._sprite_arrays: dict[tuple[int, int], tuple[tuple[np.ndarray, np.ndarray, int, int], ...]] = {}

    def render_into(self, times: np.ndarray, frames: Sequence[FramePlanes]) -> bool:
        """The frames at `times` into their byte planes, when this path applies to all of them; False otherwise
        (nothing written)."""
        sole = self._sole_layer(times)
        fused = self.layer(*sole) if sole is not None else None
        if sole is None or fused is None:
            return False
        for k, t in enumerate(times):
            self._fused_frame(*sole, fused, float(t), frames[k])
        return True

    def _sole_layer(self, times: np.ndarray) -> tuple[int, VideoLayer] | None:
        """The layer that alone makes all these frames, at full opacity, if there is one."""
        last = len(self.comp.plan.layers) - 1
        found = None
        for i, layer in enumerate(self.comp.plan.layers):
            active = (times >= layer.start) & ((times < layer.end) | (i == last))
            if not active.any():
                continue
            if found is not None or not active.all() or (times - layer.start < layer.fade_in).any():
                return None
            found = (i, layer)
        return found

    def layer(self, i: int, layer: VideoLayer) -> OnePassLayer | None:
        if i not in self._layers:
            self._layers[i] = None
            split = split_source_effects(self.comp.effects[i])
            if (
                self.comp.device.type != "cpu"
                or layer.kind == "procedural"
                or layer.fit != "blur_fill"
                or split is None
            ):
                return None
            src = self.comp.source(i, layer)
            grade = yuv_grade(*split[0]) if isinstance(src, FootageSource) and src.bt709 else None
            moves = split[1]
            outputs = [(j, fx) for j, fx in enumerate(self.comp.effects[i]) if fx.kind == "gain"]
            if grade is None or len(moves) > 1:
                return None
            gains = (EMPTY, EMPTY)
            if outputs:
                g, g2 = torch.ones(self.comp.H, self.comp.W), torch.ones(self.comp.H // 2, self.comp.W // 2)
                for j, fx in outputs:
                    gy, guv = self.comp.output_gain(i, j, fx)
                    g, g2 = g * gy, g2 * guv[0]
                gains = (g.numpy(), g2.numpy())
            move = moves[0] if moves else None
            self._layers[i] = OnePassLayer(plane_grades(*grade), move, gains)
        return self._layers[i]

    def _caption_arrays(self, t: float) -> tuple[tuple[np.ndarray, np.ndarray, int, int], ...] | None:
        """The caption shown at t for each plane: premultiplied values, alpha, top, left; None between pages."""
        state = self.comp.captions.state_at(t)
        if state is None:
            return None
        if state not in self._sprite_arrays:
            rgba, top, left = self.comp.captions.image(*state)
            y, a, u, v, a2 = sprite_planes(rgba)
            top, left = even(top), even(left)
            self._sprite_arrays[state] = ((y, a, top, left), (u, a2, top // 2, left // 2), (v, a2, top // 2, left // 2))
        return self._sprite_arrays[state]

    def _fused_frame(self, i: int, layer: VideoLayer, f: OnePassLayer, t: float, dests: FramePlanes) -> None:
        """One frame of a blur-filled BT.709 layer into its byte planes: what _blur_fill_yuv, the output gains,
        the caption and pack() make, in one pass per plane."""
        src = self.comp.source(i, layer)
        assert isinstance(src, FootageSource), "layer() takes footage only"
        y8, uv8 = src.planes(np.array([t - layer.start + layer.source_in]), self.comp.device)
        move = NO_MOVE
        if f.move is not None:
            move = torch.cat(f.move.window(layer_progress(layer, np.array([t]))), dim=1)[0].numpy()
        caption = self._caption_arrays(t)
        codes = (y8[0], uv8[0, 0], uv8[0, 1])
        key = (int(y8.shape[-2]), int(y8.shape[-1]))
        if key not in self._geometries:
            self._geometries[key] = blur_fill_geometry(self.comp.H, self.comp.W, *key)
        for p, g in enumerate(self._geometries[key]):
            render_plane(
                g,
                dests[p],
                codes[p].numpy(),
                f.grades[p],
                move,
                f.gains[min(p, 1)],
                None if caption is None else caption[p],
                self.comp.give_way,
            )
