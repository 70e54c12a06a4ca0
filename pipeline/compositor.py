"""Frames of a plan, composed directly in YUV: backgrounds, effects, crossfades and captions, in batches.

Effects that change geometry or colour run in RGB on the source, before it is fitted (fewer pixels). Everything at
full frame size runs on YUV planes with 4:2:0 chroma (half the values of RGB), and the planes go to x264 as they
are. The colour maths is BT.709; luma is kept in [0, 1] and chroma centred on 0 until the final quantisation, so
blends, fades, premultiplied captions and vignette gains are the same linear operations as in RGB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pipeline.backgrounds import FootageSource, ProceduralSource, probe_video
from pipeline.caption_layer import CaptionLayer, CaptionSprite
from pipeline.effects import ColorGrade, Effect, KenBurns, make_effect
from pipeline.effects.compose import (
    BACKDROP_BLUR,
    BACKDROP_DIM,
    BACKDROP_SCALE,
    box_blur,
    crop_fill,
    enlarge,
    fit_size,
    mix_channels,
    pool2,
    small_size,
)
from pipeline.fused import EMPTY, NO_MOVE, PlaneGeometry, blur_fill_geometry, render_plane, sprite_planes
from pipeline.plan import RenderPlan, VideoLayer

Source = FootageSource | ProceduralSource

_Y = torch.tensor([[0.2126, 0.7152, 0.0722]])
_UV = torch.tensor([[-0.1146, -0.3854, 0.5], [0.5, -0.4542, -0.0458]])
_ZERO1, _ZERO2 = torch.zeros(1), torch.zeros(2)


@dataclass
class Planes:
    """A batch of frames as planes: y (N, H, W) in [0, 1], uv (N, 2, H/2, W/2) centred on 0."""

    y: Tensor
    uv: Tensor

    def to_rgb(self) -> Tensor:
        """(N, 3, H, W) RGB in [0, 1], for previews and notebooks (chroma upsampled)."""
        uv = F.interpolate(self.uv, scale_factor=2, mode="nearest")
        y, u, v = self.y, uv[:, 0], uv[:, 1]
        r = y + 1.5748 * v
        g = y - 0.1873 * u - 0.4681 * v
        b = y + 1.8556 * u
        return torch.stack([r, g, b], dim=1).clamp(0, 1)

    def pack(self, out: np.ndarray | None = None, consume: bool = False) -> np.ndarray:
        """(N, H*3/2, W) uint8 yuv420p, BT.709 limited range, ready for libx264; into `out` when given."""
        n, h, w = self.y.shape
        packed = np.empty((n, h * 3 // 2, w), dtype=np.uint8) if out is None else out
        chroma = packed[:, h:].reshape(n, 2, h // 2, w // 2)
        self.pack_into([(packed[k, :h], chroma[k, 0], chroma[k, 1]) for k in range(n)], consume)
        return packed

    def pack_into(self, frames: Sequence[FramePlanes], consume: bool = False) -> None:
        """Quantise into each frame's (y, u, v) byte planes (2-D, rows at least as wide as the planes: x264's
        frames pad their rows).

        `consume=True` does the arithmetic in the planes' own memory (they hold codes afterwards): a fresh 8 MB
        tensor costs more to fault in than the arithmetic on it (3.4 against 0.2 ms a 1080x1920 plane here)."""
        w = self.y.shape[-1]
        y = (self.y if consume else self.y.clone()).mul_(219.0).add_(16.5).clamp_(0, 255)
        uv = (self.uv if consume else self.uv.clone()).mul_(224.0).add_(128.5).clamp_(0, 255)
        if self.y.device.type != "cpu":
            y, uv = y.to(torch.uint8).cpu(), uv.to(torch.uint8).cpu()
        # numpy converts float to bytes 7x faster than torch's copy_ on CPU (0.15 against 1.07 ms a 1080x1920
        # plane); in range after the clamp, its truncation is the rounding.
        for k, (dy, du, dv) in enumerate(frames):
            np.copyto(dy[:, :w], y[k].numpy(), casting="unsafe")
            np.copyto(du[:, : w // 2], uv[k, 0].numpy(), casting="unsafe")
            np.copyto(dv[:, : w // 2], uv[k, 1].numpy(), casting="unsafe")


# One frame's y, u and v byte planes.
FramePlanes = tuple[np.ndarray, np.ndarray, np.ndarray]


def rgb_to_planes(rgb: Tensor) -> Planes:
    """(N, 3, h, w) RGB (h, w even) -> planes; chroma from 2x2-averaged RGB."""
    y = mix_channels(rgb, _Y, _ZERO1)[:, 0]
    uv = mix_channels(pool2(rgb), _UV, _ZERO2)
    return Planes(y, uv)


def _enlarge_into(out: Planes, small: Planes, k: int, rows: tuple[int, int]) -> None:
    """Rows [r0, r1) (even) of `small` (chroma at full resolution) enlarged k times (even) into `out`."""
    _, h, w = out.y.shape
    r0, r1 = rows
    enlarge(small.y.unsqueeze(1), k, h, w, rows, out=out.y[:, r0:r1].unsqueeze(1))
    enlarge(small.uv, k // 2, h // 2, w // 2, (r0 // 2, r1 // 2), out=out.uv[:, :, r0 // 2 : r1 // 2])


def _empty_planes(n: int, h: int, w: int, device: torch.device) -> Planes:
    return Planes(torch.empty(n, h, w, device=device), torch.empty(n, 2, h // 2, w // 2, device=device))


def _small_rgb_planes(rgb: Tensor) -> Planes:
    """Planes of a small RGB image at full chroma resolution (it is about to be enlarged anyway)."""
    return Planes(mix_channels(rgb, _Y, _ZERO1)[:, 0], mix_channels(rgb, _UV, _ZERO2))


def _progress(layer: VideoLayer, times: np.ndarray) -> Tensor:
    """Where the times are in a layer, 0 at its start to 1 at its end (what effects take as `t`)."""
    t = torch.as_tensor((times - layer.start) / max(1e-6, layer.end - layer.start), dtype=torch.float32)
    return t.clamp(0, 1)


def _even(x: int) -> int:
    return x - x % 2


# Procedural colour fields are computed at 1/8 of the frame and enlarged (they are smooth).
PROCEDURAL_SCALE = 8


_IDENTITY = (torch.eye(3), torch.zeros(3))


def _split_source_effects(effects: list[Effect]) -> tuple[tuple[Tensor, Tensor], list[Effect]] | None:
    """A layer's source effects as one colour map plus the geometric ones (zoom/pan), or None when some effect is
    neither (it then runs as an RGB pass). Pointwise colour maps commute with bilinear resampling."""
    m, b = _IDENTITY
    moves: list[Effect] = []
    for fx in effects:
        if fx.on_output:
            continue
        if isinstance(fx, ColorGrade):
            fm, fb = fx.affine()
            m, b = fm @ m, fm @ b + fb
        elif isinstance(fx, KenBurns):
            moves.append(fx)
        else:
            return None
    return (m, b), moves


_RGB_TO_YUV = torch.cat([_Y, _UV]).double()


def _yuv_grade(m: Tensor, b: Tensor) -> tuple[Tensor, Tensor] | None:
    """An RGB colour map as per-plane gains and offsets in YUV, or None when it mixes luma and chroma (a grade of
    contrast, saturation, brightness and warmth never does)."""
    a = _RGB_TO_YUV
    m_yuv = a @ m.double() @ torch.linalg.inv(a)
    gain = torch.diagonal(m_yuv)
    if (m_yuv - torch.diag(gain)).abs().max() > 1e-6:
        return None
    return gain.float(), (a @ b.double()).float()


@dataclass(frozen=True)
class _Fused:
    """What the one-pass CPU kernel needs of a layer, fixed for the whole layer."""

    grades: tuple[np.ndarray, np.ndarray, np.ndarray]  # Y, U, V: see _plane_grades
    move: KenBurns | None
    gains: tuple[np.ndarray, np.ndarray]  # output gain (vignette) at luma and chroma resolution; EMPTY: none


def _plane_grades(gain: Tensor, offset: Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grade diagonal in YUV (_yuv_grade) as what it does to each plane's stored codes: (gain, offset, low, high)
    in float32, for _grade_codes and pipeline.fused alike."""
    gy, gu, gv = (float(g) for g in gain)
    oy, ou, ov = (float(o) for o in offset)
    return (
        np.array([gy / 219.0, oy - 16.0 * gy / 219.0, 0.0, 1.0], np.float32),
        np.array([gu / 224.0, ou - 128.0 * gu / 224.0, -0.5, 0.5], np.float32),
        np.array([gv / 224.0, ov - 128.0 * gv / 224.0, -0.5, 0.5], np.float32),
    )


def _grade_codes(x: Tensor, grade: np.ndarray) -> Tensor:
    """Float codes of one plane graded in place: x * gain + offset, clamped to (low, high) (see _plane_grades)."""
    gain, offset, low, high = (float(v) for v in grade)
    return x.mul_(gain).add_(offset).clamp_(low, high)


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
        self._effects: list[list[Effect]] = [
            [make_effect(e.name, e.params) for e in lay.effects] for lay in plan.layers
        ]
        self.captions = CaptionLayer(plan.captions.pages, plan.captions.style, o.safe_zone, self.W, self.H, self.device)
        self._sprites: dict[tuple[int, int], tuple[CaptionSprite, Planes, Tensor, Tensor]] = {}
        self._gains: dict[tuple[int, int], tuple[Tensor, Tensor]] = {}
        self._buffers: dict[tuple[int, int], Planes] = {}
        self._fused: dict[int, _Fused | None] = {}
        self._geometries: dict[tuple[int, int], tuple[PlaneGeometry, ...]] = {}
        self._sprite_arrays: dict[tuple[int, int], tuple[tuple[np.ndarray, np.ndarray, int, int], ...]] = {}
        # The one-pass kernels give way to other threads about every 0.1 ms (pipeline.fused.GIVE_WAY); the
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
            self._buffers[(i, n)] = _empty_planes(n, self.H, self.W, self.device)
        return self._buffers[(i, n)]

    def _source(self, i: int, layer: VideoLayer) -> Source:
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
                src = FootageSource(layer.path, _even(w), _even(h), loop=layer.loop, keep_bytes=keep)
                # Read as planes by the blur-fill of BT.709 footage, else as RGB; in order, as a render reads.
                src.prefetch(yuv=src.bt709 and layer.fit == "blur_fill")
                self._sources[i] = src
        return self._sources[i]

    def _layer(self, i: int, layer: VideoLayer, times: np.ndarray) -> Planes:
        src = self._source(i, layer)
        at = times - layer.start + layer.source_in
        t = _progress(layer, times)
        split = _split_source_effects(self._effects[i])
        if isinstance(src, FootageSource) and layer.fit == "blur_fill" and split is not None:
            out = self._buffer(i, len(times))
            grade = _yuv_grade(*split[0]) if src.bt709 else None
            if grade is not None:
                planes = self._blur_fill_yuv(*src.planes(at, self.device), t, grade, split[1], out)
            else:
                planes = self._blur_fill_planes(src.raw(at, self.device), t, *split, out)
        else:
            x = src.frames(at, self.device)
            for fx in self._effects[i]:
                if not fx.on_output:
                    x = fx.apply(x, t)
            planes = self._fit(layer, x, self._buffer(i, len(times)))
        for j, fx in enumerate(self._effects[i]):
            if fx.on_output:
                gain, gain2 = self._gain(i, j, fx)
                planes.y.mul_(gain)
                planes.uv.mul_(gain2)
        return planes

    def _fit(self, layer: VideoLayer, x: Tensor, out: Planes) -> Planes:
        if layer.kind == "procedural":
            planes = out
            _enlarge_into(planes, _small_rgb_planes(x), PROCEDURAL_SCALE, (0, self.H))
        elif layer.fit == "crop" or x.shape[-2:] == (self.H, self.W):
            planes = rgb_to_planes(crop_fill(x, self.H, self.W))
        else:
            planes = self._blur_fill(x, out)
        return planes

    def _gain(self, i: int, j: int, fx: Effect) -> tuple[Tensor, Tensor]:
        """An output effect's gain at luma and chroma resolution, computed once per layer."""
        if (i, j) not in self._gains:
            gain = fx.gain(self.H, self.W, self.device)  # type: ignore[attr-defined]
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
        top, left = _even((self.H - fh) // 2), _even((self.W - fw) // 2)
        bands = [(0, self.H)] if fw < self.W else [(0, top), (top + fh, self.H)]
        for r0, r1 in bands:
            if r1 > r0:
                _enlarge_into(out, back, BACKDROP_SCALE, (r0, r1))
        out.y[:, top : top + fh, left : left + fw] = fore.y
        out.uv[:, :, top // 2 : (top + fh) // 2, left // 2 : (left + fw) // 2] = fore.uv
        return out

    def _backdrop_size(self) -> tuple[int, int]:
        return small_size(self.H, self.W, BACKDROP_SCALE)

    def _blur_fill(self, x: Tensor, out: Planes) -> Planes:
        """The whole source fitted in the middle over a blurred, dimmed, cover-scaled copy of itself."""
        fh, fw = _even(x.shape[-2]), _even(x.shape[-1])
        small = _small_rgb_planes(crop_fill(x, *self._backdrop_size()))
        return self._fill(small, rgb_to_planes(x[..., :fh, :fw]), out)

    def _blur_fill_planes(
        self, raw: Tensor, t: Tensor, colour: tuple[Tensor, Tensor], moves: list[Effect], out: Planes
    ) -> Planes:
        """Blur-fill of uint8 frames with the source's effects moved where they cost least: the colour grade and
        the byte scale folded into the RGB->YUV matrices, zoom/pan applied to the planes (half the values of RGB).
        The backdrop takes the same effects at its small size, made from the half-size copy that chroma needs
        anyway. Same picture as effects-then-fit, except that a grade's out-of-range values are clipped to the
        legal range after the conversion instead of before it."""
        m, b = colour
        fh, fw = _even(raw.shape[-2]), _even(raw.shape[-1])
        src = raw[..., :fh, :fw].to(torch.float32)  # 0..255
        half = pool2(src)
        m255 = m / 255.0
        fore = Planes(
            mix_channels(src, _Y @ m255, _Y @ b)[:, 0].clamp_(0.0, 1.0),
            mix_channels(half, _UV @ m255, _UV @ b).clamp_(-0.5, 0.5),
        )
        for fx in moves:
            fore = Planes(fx.apply(fore.y.unsqueeze(1), t)[:, 0], fx.apply(fore.uv, t))
        small = crop_fill(half, *self._backdrop_size()).div_(255.0)
        for fx in moves:
            small = fx.apply(small, t)
        return self._fill(_small_rgb_planes(mix_channels(small, m, b).clamp_(0.0, 1.0)), fore, out)

    def _blur_fill_yuv(
        self, y: Tensor, uv: Tensor, t: Tensor, grade: tuple[Tensor, Tensor], moves: list[Effect], out: Planes
    ) -> Planes:
        """Blur-fill of BT.709 footage as stored (uint8 planes, limited range): the colour grade, diagonal in YUV,
        folded into the scaling of the codes; the backdrop cut from the graded planes. No RGB anywhere."""
        gy, gu, gv = _plane_grades(*grade)
        fuv = uv.to(torch.float32)
        _grade_codes(fuv[:, 0], gu)
        _grade_codes(fuv[:, 1], gv)
        fore = Planes(_grade_codes(y.to(torch.float32), gy), fuv)
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
            h, w = _even(s.rgb.shape[-2]), _even(s.rgb.shape[-1])
            rgb, alpha = s.rgb[None, :, :h, :w], s.alpha[None, :, :h, :w]
            planes = rgb_to_planes(rgb)  # premultiplied RGB converts to premultiplied YUV (no offsets)
            self._sprites[key] = (s, planes, alpha[0, 0], F.avg_pool2d(alpha, 2)[0])
        return self._sprites[key]

    def _caption(self, frames: Planes, k: int, t: float) -> None:
        state = self.captions.state_at(t)
        if state is None:
            return
        s, planes, a, a2 = self._sprite(*state)
        top, left = _even(s.top), _even(s.left)
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
        (pipeline.fused); anything else goes through render_planes()."""
        times = frame_indices.astype(np.float64) / self.fps
        sole = self._sole_layer(times)
        fused = self._fusable(*sole) if sole is not None else None
        if sole is None or fused is None:
            self.render_planes(frame_indices).pack_into(frames, consume=True)
            return
        for k, t in enumerate(times):
            self._fused_frame(*sole, fused, float(t), frames[k])

    def _sole_layer(self, times: np.ndarray) -> tuple[int, VideoLayer] | None:
        """The layer that alone makes all these frames, at full opacity, if there is one."""
        last = len(self.plan.layers) - 1
        found = None
        for i, layer in enumerate(self.plan.layers):
            active = (times >= layer.start) & ((times < layer.end) | (i == last))
            if not active.any():
                continue
            if found is not None or not active.all() or (times - layer.start < layer.fade_in).any():
                return None
            found = (i, layer)
        return found

    def _fusable(self, i: int, layer: VideoLayer) -> _Fused | None:
        if i not in self._fused:
            self._fused[i] = None
            split = _split_source_effects(self._effects[i])
            if self.device.type != "cpu" or layer.kind == "procedural" or layer.fit != "blur_fill" or split is None:
                return None
            src = self._source(i, layer)
            grade = _yuv_grade(*split[0]) if isinstance(src, FootageSource) and src.bt709 else None
            moves = split[1]
            outputs = [(j, fx) for j, fx in enumerate(self._effects[i]) if fx.on_output]
            if grade is None or len(moves) > 1 or not all(hasattr(fx, "gain") for _, fx in outputs):
                return None
            gains = (EMPTY, EMPTY)
            if outputs:
                g, g2 = torch.ones(self.H, self.W), torch.ones(self.H // 2, self.W // 2)
                for j, fx in outputs:
                    gy, guv = self._gain(i, j, fx)
                    g, g2 = g * gy, g2 * guv[0]
                gains = (g.numpy(), g2.numpy())
            move = moves[0] if moves else None
            assert move is None or isinstance(move, KenBurns)
            self._fused[i] = _Fused(_plane_grades(*grade), move, gains)
        return self._fused[i]

    def _caption_arrays(self, t: float) -> tuple[tuple[np.ndarray, np.ndarray, int, int], ...] | None:
        """The caption shown at t for each plane: premultiplied values, alpha, top, left; None between pages."""
        state = self.captions.state_at(t)
        if state is None:
            return None
        if state not in self._sprite_arrays:
            rgba, top, left = self.captions.image(*state)
            y, a, u, v, a2 = sprite_planes(rgba)
            top, left = _even(top), _even(left)
            self._sprite_arrays[state] = ((y, a, top, left), (u, a2, top // 2, left // 2), (v, a2, top // 2, left // 2))
        return self._sprite_arrays[state]

    def _fused_frame(self, i: int, layer: VideoLayer, f: _Fused, t: float, dests: FramePlanes) -> None:
        """One frame of a blur-filled BT.709 layer into its byte planes: what _blur_fill_yuv, the output gains,
        the caption and pack() make, in one pass per plane."""
        src = self._source(i, layer)
        assert isinstance(src, FootageSource), "_fusable() takes footage only"
        y8, uv8 = src.planes(np.array([t - layer.start + layer.source_in]), self.device)
        move = NO_MOVE
        if f.move is not None:
            move = torch.cat(f.move.window(_progress(layer, np.array([t]))), dim=1)[0].numpy()
        caption = self._caption_arrays(t)
        codes = (y8[0], uv8[0, 0], uv8[0, 1])
        key = (int(y8.shape[-2]), int(y8.shape[-1]))
        if key not in self._geometries:
            self._geometries[key] = blur_fill_geometry(self.H, self.W, *key)
        for p, g in enumerate(self._geometries[key]):
            render_plane(
                g,
                dests[p],
                codes[p].numpy(),
                f.grades[p],
                move,
                f.gains[min(p, 1)],
                None if caption is None else caption[p],
                self.give_way,
            )

    def render(self, frame_indices: np.ndarray) -> Tensor:
        """(N, 3, H, W) RGB frames in [0, 1] (previews, notebooks; the encoder takes the planes)."""
        return self.render_planes(frame_indices).to_rgb()
