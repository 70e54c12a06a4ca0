"""Frames of a plan: background layers, their effects, crossfades and captions, in batches on a device."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pipeline.backgrounds import FootageSource, ProceduralSource
from pipeline.caption_layer import CaptionLayer
from pipeline.effects import Effect, make_effect
from pipeline.effects.compose import alpha_over, blur_fill, crop_fill, crossfade, fit_size, mix_channels
from pipeline.plan import RenderPlan, VideoLayer

Source = FootageSource | ProceduralSource


class Compositor:
    def __init__(self, plan: RenderPlan, device: str | torch.device = "cpu", batch: int = 4) -> None:
        self.plan, self.device, self.batch = plan, torch.device(device), batch
        o = plan.output
        self.W, self.H, self.fps = o.width, o.height, o.fps
        self._sources: dict[int, Source] = {}
        self._effects: list[list[Effect]] = [
            [make_effect(e.name, e.params) for e in lay.effects] for lay in plan.layers
        ]
        self.captions = CaptionLayer(plan.captions.pages, plan.captions.style, o.safe_zone, self.W, self.H, self.device)

    def _source(self, i: int, layer: VideoLayer) -> Source:
        if i not in self._sources:
            if layer.kind == "procedural":
                self._sources[i] = ProceduralSource(layer.seed, self.W, self.H)
            else:
                assert layer.path is not None
                from pipeline.backgrounds import probe_video

                info = probe_video(layer.path)
                h, w = fit_size(info.height, info.width, self.H, self.W, cover=layer.fit == "crop")
                self._sources[i] = FootageSource(layer.path, w - w % 2, h - h % 2, loop=layer.loop)
        return self._sources[i]

    def _layer_frames(self, i: int, layer: VideoLayer, times: np.ndarray) -> Tensor:
        src = self._source(i, layer)
        x = src.frames(times - layer.start + layer.source_in, self.device)
        t = torch.as_tensor((times - layer.start) / max(1e-6, layer.end - layer.start), dtype=torch.float32)
        t = t.clamp(0, 1)
        fitted = x.shape[-2:] == (self.H, self.W)
        for fx in self._effects[i]:
            if fitted or not fx.on_output:
                x = fx.apply(x, t)
        if not fitted:
            x = blur_fill(x, self.H, self.W) if layer.fit == "blur_fill" else crop_fill(x, self.H, self.W)
            for fx in self._effects[i]:
                if fx.on_output:
                    x = fx.apply(x, t)
        return x

    def render(self, frame_indices: np.ndarray) -> Tensor:
        """(N, 3, H, W) float frames in [0, 1] for the given output frame numbers."""
        times = frame_indices.astype(np.float64) / self.fps
        out: Tensor | None = None
        last = len(self.plan.layers) - 1
        for i, layer in enumerate(self.plan.layers):
            # The last layer holds to the end so rounding never leaves a black frame.
            active = (times >= layer.start) & ((times < layer.end) | (i == last))
            if not active.any():
                continue
            idx = np.flatnonzero(active)
            frames = self._layer_frames(i, layer, times[idx])
            if out is None and len(idx) == len(times) and layer.fade_in <= 0:
                out = frames  # the common case: one layer fills the batch, no copy
                continue
            if out is None:
                out = torch.zeros(len(times), 3, self.H, self.W, device=self.device)
            if layer.fade_in > 0:
                alpha = torch.as_tensor(np.clip((times[idx] - layer.start) / layer.fade_in, 0, 1), dtype=torch.float32)
                frames = crossfade(out[idx], frames, alpha)
            out[torch.as_tensor(idx, device=self.device)] = frames
        assert out is not None, "plan.validate() guarantees a layer covers every frame"
        for k, t in enumerate(times):
            state = self.captions.state_at(float(t))
            if state is not None:
                s = self.captions.sprite(*state)
                alpha_over(out[k : k + 1], s.rgb, s.alpha, s.top, s.left, inplace=True)
        return out

    def batches(self, start: int, end: int) -> Iterator[tuple[int, Tensor]]:
        for b0 in range(start, end, self.batch):
            idx = np.arange(b0, min(end, b0 + self.batch))
            yield b0, self.render(idx)


_YUV709 = torch.tensor(
    [[0.2126, 0.7152, 0.0722], [-0.1146, -0.3854, 0.5], [0.5, -0.4542, -0.0458]], dtype=torch.float32
)
# Limited range: Y in 16..235, U/V in 16..240; +0.5 so the uint8 cast rounds.
_SCALE = torch.tensor([219.0, 224.0, 224.0]).view(3, 1)
_OFFSET = torch.tensor([16.5, 128.5, 128.5])


def to_yuv420(frames: Tensor) -> np.ndarray:
    """(N, 3, H, W) RGB in [0, 1] -> (N, H*3/2, W) uint8 yuv420p planes, BT.709 limited range."""
    n, _, h, w = frames.shape
    weights, bias = _YUV709 * _SCALE, _OFFSET
    y = mix_channels(frames, weights[:1], bias[:1])
    uv = mix_channels(F.avg_pool2d(frames, 2), weights[1:], bias[1:])
    out = torch.empty(n, h * 3 // 2, w, dtype=torch.uint8, device=frames.device)
    out[:, :h] = y[:, 0].clamp_(0, 255)
    # U plane then V plane, each (h/2, w/2), packed row-major under the Y plane.
    out[:, h:] = uv.clamp_(0, 255).reshape(n, h // 2, w)
    return out.cpu().numpy()
