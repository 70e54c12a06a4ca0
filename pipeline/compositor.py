"""Frames of a plan, composed directly in YUV: backgrounds, effects, crossfades and captions, in batches.

Effects that change geometry or colour run on the source, before it is fitted (fewer pixels). Everything at full
frame size runs on YUV planes with 4:2:0 chroma (half the values of RGB), and the planes go to x264 as they are. The
colour maths is BT.709 (pipeline/planes.py), so blends, fades, premultiplied captions and vignette gains are the same
linear operations as in RGB.

Which frame path runs (`render_into`, per batch of frames):

| device | the batch's frames                                              | path                                      |
|--------|-----------------------------------------------------------------|-------------------------------------------|
| CPU    | one blur-filled BT.709 clip at full opacity, effects of kinds   | one pass per plane (blur_fill_plane.py)   |
|        | colour, at most one move, gains (pipeline/one_pass.py)          | in the numba kernels (frame_kernels.py),  |
|        |                                                                 | into x264's frames                        |
| CPU    | anything else: crossfades, procedural fields, crop fit, a       | torch on the CPU (`render_planes`), one   |
|        | "pixels" effect, non-BT.709 footage                             | frame a batch, then `Planes.pack_into`    |
| CUDA   | everything                                                      | torch on the GPU (`render_planes`), 8     |
|        |                                                                 | frames a batch, bytes copied back         |

Within `render_planes`, a blur-filled clip whose source effects are colour maps and moves is graded on its YUV
planes (`_blur_fill_yuv`, BT.709) or its RGB bytes (`_blur_fill_planes`); other layers take the RGB path (effects'
`apply`, then the fit). Effects say which they are by their kind (pipeline/effects/kinds.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pipeline.caption_layer import CaptionLayer, CaptionSprite
from pipeline.effects import Effect, Gain, Move, make_effect
from pipeline.effects.compose import (
    BACKDROP_BLUR,
    BACKDROP_DIM,
    BACKDROP_SCALE,
    box_blur,
    crop_fill,
    fit_size,
    mix_channels,
    pool2,
    small_size,
)
from pipeline.footage import FootageSource, probe_video
from pipeline.grading import grade_codes, plane_grades, split_source_effects, yuv_grade
from pipeline.one_pass import OnePass
from pipeline.plan import RenderPlan, VideoLayer
from pipeline.planes import (
    CHROMA,
    LUMA,
    FramePlanes,
    Planes,
    empty_planes,
    enlarge_into,
    even,
    layer_progress,
    rgb_to_planes,
    small_rgb_planes,
)
from pipeline.procedural import ProceduralSource

Source = FootageSource | ProceduralSource

# Procedural colour fields are computed at 1/8 of the frame and enlarged (they are smooth).
PROCEDURAL_SCALE = 8


# A clip that loops within what a compositor renders keeps its decoded, scaled frames when they fit in this much
# memory: decoding 1080p costs ~6 ms of CPU a frame, as much as all the compositing.
LOOPED_FOOTAGE_BYTES = 512 << 20


class Compositor:
    def __init__(
        self,
        plan: RenderPlan,
        device: str | torch.device = "cpu",
        batch: int | None = None,
        frames: tuple[int, int] | None = None,
    ) -> None:
        """`frames`: the [start, end) output frames this compositor will render (default all): a clip that loops
        within them is decoded once (see LOOPED_FOOTAGE_BYTES)."""
        self.plan, self.device = plan, torch.device(device)
        self.frames = frames or (0, plan.frame_count)
        # One frame at a time keeps a CPU's working set in cache (24 against 16 frames/s for 8 at 1080x1920);
        # a GPU wants batches.
        self.batch = batch or (1 if self.device.type == "cpu" else 8)
        o = plan.output
        self.W, self.H, self.fps = o.width, o.height, o.fps
        self._sources: dict[int, Source] = {}
        self.effects: list[list[Effect]] = [[make_effect(e.name, e.params) for e in lay.effects] for lay in plan.layers]
        self.captions = CaptionLayer(plan.captions.pages, plan.captions.style, o.safe_zone, self.W, self.H, self.device)
        self._sprites: dict[tuple[int, int], tuple[CaptionSprite, Planes, Tensor, Tensor]] = {}
        self._gains: dict[tuple[int, int], tuple[Tensor, Tensor]] = {}
        self._buffers: dict[tuple[int, int], Planes] = {}
        self._one_pass = OnePass(self)
        # The one-pass kernels give way to other threads about every 0.1 ms (pipeline.frame_kernels.GIVE_WAY); the
        # renderer turns this off while x264 is short of frames, when composing is what it waits for.
        self.give_way = True

    def close(self) -> None:
        """Close the footage readers (and stop their decoding ahead)."""
        for src in self._sources.values():
            if isinstance(src, FootageSource):
                src.close()
        self._sources.clear()

    def _buffer(self, i: int, n: int) -> Planes:
        """Layer i's frame memory, reused from batch to batch: writing into memory already mapped is several times
        cheaper than into fresh memory on CPU, and render_planes() results are consumed before the next call."""
        if (i, n) not in self._buffers:
            self._buffers[(i, n)] = empty_planes(n, self.H, self.W, self.device)
        return self._buffers[(i, n)]

    def source(self, i: int, layer: VideoLayer) -> Source:
        if i not in self._sources:
            if layer.kind == "procedural":
                # Procedural colour fields are computed small and enlarged as planes.
                sh, sw = small_size(self.H, self.W, PROCEDURAL_SCALE)
                self._sources[i] = ProceduralSource(layer.seed, sw, sh, work_scale=1)
            else:
                assert layer.path is not None
                info = probe_video(layer.path)
                h, w = fit_size(info.height, info.width, self.H, self.W, cover=layer.fit == "crop")
                shown = min(layer.end, self.frames[1] / self.fps) - max(layer.start, self.frames[0] / self.fps)
                loops = layer.loop and shown > info.duration - layer.source_in
                keep = LOOPED_FOOTAGE_BYTES if loops else 0
                src = FootageSource(layer.path, even(w), even(h), loop=layer.loop, keep_bytes=keep)
                # Read as planes by the blur-fill of BT.709 footage, else as RGB; in order, as a render reads.
                src.prefetch(yuv=src.bt709 and layer.fit == "blur_fill")
                self._sources[i] = src
        return self._sources[i]

    def _layer(self, i: int, layer: VideoLayer, times: np.ndarray) -> Planes:
        src = self.source(i, layer)
        at = times - layer.start + layer.source_in
        t = layer_progress(layer, times)
        split = split_source_effects(self.effects[i])
        if isinstance(src, FootageSource) and layer.fit == "blur_fill" and split is not None:
            out = self._buffer(i, len(times))
            grade = yuv_grade(*split[0]) if src.bt709 else None
            if grade is not None:
                planes = self._blur_fill_yuv(*src.planes(at, self.device), t, grade, split[1], out)
            else:
                planes = self._blur_fill_planes(src.raw(at, self.device), t, *split, out)
        else:
            x = src.frames(at, self.device)
            for fx in self.effects[i]:
                if fx.kind != "gain":
                    x = fx.apply(x, t)
            planes = self._fit(layer, x, self._buffer(i, len(times)))
        for j, fx in enumerate(self.effects[i]):
            if fx.kind == "gain":
                gain, gain2 = self.output_gain(i, j, fx)
                planes.y.mul_(gain)
                planes.uv.mul_(gain2)
        return planes

    def _fit(self, layer: VideoLayer, x: Tensor, out: Planes) -> Planes:
        if layer.kind == "procedural":
            planes = out
            enlarge_into(planes, small_rgb_planes(x), PROCEDURAL_SCALE, (0, self.H))
        elif layer.fit == "crop" or x.shape[-2:] == (self.H, self.W):
            planes = rgb_to_planes(crop_fill(x, self.H, self.W))
        else:
            planes = self._blur_fill(x, out)
        return planes

    def output_gain(self, i: int, j: int, fx: Effect) -> tuple[Tensor, Tensor]:
        """An output effect's gain at luma and chroma resolution, computed once per layer."""
        if (i, j) not in self._gains:
            gain = cast(Gain, fx).gain(self.H, self.W, self.device)
            self._gains[(i, j)] = (gain, F.avg_pool2d(gain[None, None], 2)[0])
        return self._gains[(i, j)]

    def _fill(self, small: Planes, fore: Planes, out: Planes) -> Planes:
        """`fore` in the middle of a blurred, dimmed backdrop enlarged from `small` (chroma at full resolution),
        written into `out`; the backdrop is made only where it shows."""
        back = Planes(
            box_blur(small.y.unsqueeze(1), BACKDROP_BLUR)[:, 0].mul_(BACKDROP_DIM),
            box_blur(small.uv, BACKDROP_BLUR).mul_(BACKDROP_DIM),
        )
        fh, fw = fore.y.shape[-2:]
        top, left = even((self.H - fh) // 2), even((self.W - fw) // 2)
        bands = [(0, self.H)] if fw < self.W else [(0, top), (top + fh, self.H)]
        for r0, r1 in bands:
            if r1 > r0:
                enlarge_into(out, back, BACKDROP_SCALE, (r0, r1))
        out.y[:, top : top + fh, left : left + fw] = fore.y
        out.uv[:, :, top // 2 : (top + fh) // 2, left // 2 : (left + fw) // 2] = fore.uv
        return out

    def _backdrop_size(self) -> tuple[int, int]:
        return small_size(self.H, self.W, BACKDROP_SCALE)

    def _blur_fill(self, x: Tensor, out: Planes) -> Planes:
        """The whole source fitted in the middle over a blurred, dimmed, cover-scaled copy of itself."""
        fh, fw = even(x.shape[-2]), even(x.shape[-1])
        small = small_rgb_planes(crop_fill(x, *self._backdrop_size()))
        return self._fill(small, rgb_to_planes(x[..., :fh, :fw]), out)

    def _blur_fill_planes(
        self, raw: Tensor, t: Tensor, colour: tuple[Tensor, Tensor], moves: list[Move], out: Planes
    ) -> Planes:
        """Blur-fill of uint8 frames with the source's effects moved where they cost least: the colour grade and
        the byte scale folded into the RGB->YUV matrices, zoom/pan applied to the planes (half the values of RGB).
        The backdrop takes the same effects at its small size, made from the half-size copy that chroma needs
        anyway. Same picture as effects-then-fit, except that a grade's out-of-range values are clipped to the
        legal range after the conversion instead of before it."""
        m, b = colour
        fh, fw = even(raw.shape[-2]), even(raw.shape[-1])
        src = raw[..., :fh, :fw].to(torch.float32)  # 0..255
        half = pool2(src)
        m255 = m / 255.0
        fore = Planes(
            mix_channels(src, LUMA @ m255, LUMA @ b)[:, 0].clamp_(0.0, 1.0),
            mix_channels(half, CHROMA @ m255, CHROMA @ b).clamp_(-0.5, 0.5),
        )
        for fx in moves:
            fore = Planes(fx.apply(fore.y.unsqueeze(1), t)[:, 0], fx.apply(fore.uv, t))
        small = crop_fill(half, *self._backdrop_size()).div_(255.0)
        for fx in moves:
            small = fx.apply(small, t)
        return self._fill(small_rgb_planes(mix_channels(small, m, b).clamp_(0.0, 1.0)), fore, out)

    def _blur_fill_yuv(
        self, y: Tensor, uv: Tensor, t: Tensor, grade: tuple[Tensor, Tensor], moves: list[Move], out: Planes
    ) -> Planes:
        """Blur-fill of BT.709 footage as stored (uint8 planes, limited range): the colour grade, diagonal in YUV,
        folded into the scaling of the codes; the backdrop cut from the graded planes. No RGB anywhere."""
        gy, gu, gv = plane_grades(*grade)
        fuv = uv.to(torch.float32)
        grade_codes(fuv[:, 0], gu)
        grade_codes(fuv[:, 1], gv)
        fore = Planes(grade_codes(y.to(torch.float32), gy), fuv)
        hs, ws = self._backdrop_size()
        small = Planes(crop_fill(fore.y.unsqueeze(1), hs, ws)[:, 0], crop_fill(fore.uv, hs, ws))
        for fx in moves:
            fore = Planes(fx.apply(fore.y.unsqueeze(1), t)[:, 0], fx.apply(fore.uv, t))
            small = Planes(fx.apply(small.y.unsqueeze(1), t)[:, 0], fx.apply(small.uv, t))
        return self._fill(small, fore, out)

    def _sprite(self, page: int, word: int) -> tuple[CaptionSprite, Planes, Tensor, Tensor]:
        """A caption state as premultiplied planes with full- and half-resolution alpha, cached."""
        key = (page, word)
        if key not in self._sprites:
            s = self.captions.sprite(page, word)
            h, w = even(s.rgb.shape[-2]), even(s.rgb.shape[-1])
            rgb, alpha = s.rgb[None, :, :h, :w], s.alpha[None, :, :h, :w]
            planes = rgb_to_planes(rgb)  # premultiplied RGB converts to premultiplied YUV (no offsets)
            self._sprites[key] = (s, planes, alpha[0, 0], F.avg_pool2d(alpha, 2)[0])
        return self._sprites[key]

    def _caption(self, frames: Planes, k: int, t: float) -> None:
        state = self.captions.state_at(t)
        if state is None:
            return
        s, planes, a, a2 = self._sprite(*state)
        top, left = even(s.top), even(s.left)
        h, w = a.shape
        h, w = min(h, self.H - top), min(w, self.W - left)
        region = frames.y[k, top : top + h, left : left + w]
        region.mul_(1.0 - a[:h, :w]).add_(planes.y[0, :h, :w])
        cregion = frames.uv[k, :, top // 2 : (top + h) // 2, left // 2 : (left + w) // 2]
        ch, cw = cregion.shape[-2:]
        cregion.mul_(1.0 - a2[:, :ch, :cw]).add_(planes.uv[0, :, :ch, :cw])

    def render_planes(self, frame_indices: np.ndarray) -> Planes:
        """The given output frames as YUV planes, valid until the next call (their memory is reused)."""
        times = frame_indices.astype(np.float64) / self.fps
        out: Planes | None = None
        last = len(self.plan.layers) - 1
        for i, layer in enumerate(self.plan.layers):
            # The last layer holds to the end so rounding never leaves a black frame.
            active = (times >= layer.start) & ((times < layer.end) | (i == last))
            if not active.any():
                continue
            idx = np.flatnonzero(active)
            planes = self._layer(i, layer, times[idx])
            if out is None and len(idx) == len(times) and layer.fade_in <= 0:
                out = planes  # the common case: one layer fills the batch, no copy
                continue
            if out is None:
                n = len(times)
                out = Planes(
                    torch.zeros(n, self.H, self.W, device=self.device),
                    torch.zeros(n, 2, self.H // 2, self.W // 2, device=self.device),
                )
            sel = torch.as_tensor(idx, device=self.device)
            if layer.fade_in > 0:
                alpha = torch.as_tensor(np.clip((times[idx] - layer.start) / layer.fade_in, 0, 1), dtype=torch.float32)
                a = alpha.to(self.device)
                planes = Planes(
                    torch.lerp(out.y[sel], planes.y, a.view(-1, 1, 1)),
                    torch.lerp(out.uv[sel], planes.uv, a.view(-1, 1, 1, 1)),
                )
            out.y[sel], out.uv[sel] = planes.y, planes.uv
        assert out is not None, "plan.validate() guarantees a layer covers every frame"
        for k, t in enumerate(times):
            self._caption(out, k, float(t))
        return out

    def render_into(self, frame_indices: np.ndarray, frames: Sequence[FramePlanes]) -> None:
        """The given output frames quantised into byte planes (see Planes.pack_into).

        A frame made of one blur-filled BT.709 clip (the common reel) is made in one pass per plane on a CPU
        (pipeline.frame_kernels); anything else goes through render_planes()."""
        times = frame_indices.astype(np.float64) / self.fps
        if not self._one_pass.render_into(times, frames):
            self.render_planes(frame_indices).pack_into(frames, consume=True)

    def render(self, frame_indices: np.ndarray) -> Tensor:
        """(N, 3, H, W) RGB frames in [0, 1] (previews, notebooks; the encoder takes the planes)."""
        return self.render_planes(frame_indices).to_rgb()
