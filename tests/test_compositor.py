"""The renderer's fast paths against their plain references: the same picture, cheaper."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import ClassVar

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pipeline import effects, limits
from pipeline.captions import WordTiming
from pipeline.clip_decoder import ClipDecoder
from pipeline.compositor import Compositor, Planes, rgb_to_planes
from pipeline.effects import make_effect
from pipeline.effects.color_grade import ColorGrade
from pipeline.effects.compose import blur_fill, box_blur, enlarge, mix_channels
from pipeline.effects.kinds import EffectKind
from pipeline.footage import FootageSource
from pipeline.plan import EffectSpec, RenderPlan
from pipeline.planner import build_plan
from pipeline.platforms import get_preset
from tests.media import frames_rgb, make_clip, make_tone


@pytest.mark.parametrize(
    ("hs", "ws", "k", "h", "w"), [(120, 68, 16, 1920, 1080), (10, 6, 16, 160, 96), (7, 5, 3, 20, 13), (3, 2, 8, 24, 9)]
)
def test_enlarge_is_bilinear_interpolation_row_by_row(hs: int, ws: int, k: int, h: int, w: int) -> None:
    small = torch.rand(2, 3, hs, ws)
    ref = F.interpolate(small, scale_factor=k, mode="bilinear", align_corners=False, recompute_scale_factor=False)
    top, left = (hs * k - h) // 2, (ws * k - w) // 2
    ref = ref[..., top : top + h, left : left + w]
    assert torch.allclose(enlarge(small, k, h, w), ref, atol=1e-6)
    for rows in [(h // 3, h - 1), (0, min(h, k - 1)), (1, h), (h - 2, h)]:
        band = torch.empty(2, 3, rows[1] - rows[0], w)
        enlarge(small, k, h, w, rows, out=band)
        assert torch.allclose(band, ref[..., rows[0] : rows[1], :], atol=1e-6), rows
    with pytest.raises(ValueError, match="does not cover"):
        enlarge(small, k, h + k, w)


def test_box_blur_equals_three_plain_box_passes() -> None:
    x = torch.rand(1, 3, 23, 41)
    ref = x
    for _ in range(3):
        ref = F.avg_pool2d(F.pad(ref, (4, 4, 0, 0), mode="replicate"), (1, 9), stride=1)
        ref = F.avg_pool2d(F.pad(ref, (0, 0, 4, 4), mode="replicate"), (9, 1), stride=1)
    assert torch.allclose(box_blur(x, 4), ref, atol=1e-5)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 192x112 into a 96x160 frame: the fitted picture is 96x56 and sits at an even row, as the renderer places it.
    return make_clip(tmp_path_factory.mktemp("c") / "clip.mp4", 192, 112, seconds=1.0)


@pytest.fixture(scope="module", params=["bt601", "bt709"])
def soft_clip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Colours that the default grade keeps inside the RGB cube (where clipping before or after the conversion
    is the same), with edges and motion. Unflagged small footage is read as BT.601 and goes through RGB; footage
    flagged BT.709 is composed from its stored YUV planes."""
    path = tmp_path_factory.mktemp("c") / f"soft-{request.param}.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30, options={"preset": "ultrafast", "crf": "12"})
        s.width, s.height, s.pix_fmt = 192, 112, "yuv420p"
        if request.param == "bt709":
            s.codec_context.colorspace = s.codec_context.color_primaries = s.codec_context.color_trc = 1
        for i in range(30):
            img = np.zeros((112, 192, 3), np.uint8)
            img[..., 0] = np.linspace(60, 190, 192, dtype=np.uint8)[None, :]
            img[..., 1] = np.linspace(70, 170, 112, dtype=np.uint8)[:, None]
            img[..., 2] = 90 + 3 * i
            img[30:70, 10 + 4 * i : 50 + 4 * i] = (180, 175, 170)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    assert FootageSource(str(path), 96, 56).bt709 == (request.param == "bt709")
    return path


def test_footage_reader_returns_the_decoded_frames_in_order_looped_and_after_jumps(clip: Path) -> None:
    src = FootageSource(str(clip), 192, 112)
    want = frames_rgb(clip, list(range(30)))
    cpu = torch.device("cpu")

    def at(*indices: int) -> np.ndarray:
        frames = src.raw(np.array(indices) / 30.0 + 1e-4, cpu)
        return frames.permute(0, 2, 3, 1).numpy()

    seq = at(0, 1, 2, 3)
    assert all(np.array_equal(seq[k], want[k]) for k in range(4))
    assert np.array_equal(at(29)[0], want[29])  # forward, skipping frames
    assert np.array_equal(at(5)[0], want[5])  # back: a seek
    assert np.array_equal(at(35)[0], want[5])  # past the end: looped
    assert np.array_equal(at(5, 5)[1], want[5])  # the same frame twice (output faster than the footage)


def test_footage_reader_loops_at_the_real_end_when_the_header_over_counts(clip: Path) -> None:
    src = FootageSource(str(clip), 192, 112)
    src._decoder.count = src._count = 40  # as a container whose header claims more frames than the stream holds
    want = frames_rgb(clip, [5, 29])
    frames = src.raw(np.array([29, 35]) / 30.0 + 1e-4, torch.device("cpu")).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(frames[0], want[29])
    assert np.array_equal(frames[1], want[5])  # frame 35 does not exist: 35 - 30 after the real end
    assert src.count == 30


@pytest.fixture
def converted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that converted (scaled) decoded frames, one entry a frame."""
    names: list[str] = []
    real = ClipDecoder._convert

    def counted(self: ClipDecoder, frame: av.VideoFrame, yuv: bool) -> np.ndarray:
        names.append(threading.current_thread().name)
        return real(self, frame, yuv)

    monkeypatch.setattr(ClipDecoder, "_convert", counted)
    return names


def test_a_looping_clip_is_decoded_once_when_it_fits(clip: Path, converted: list[str]) -> None:
    cpu = torch.device("cpu")
    times = np.arange(75) / 30.0 + 1e-4  # 2.5 loops of the 1 s clip
    frame_bytes = 96 * 56 * 3 // 2
    kept = FootageSource(str(clip), 96, 56, keep_bytes=30 * frame_bytes)
    looped = np.concatenate([kept.planes(times[k : k + 1], cpu)[0].numpy() for k in range(75)])
    assert len(converted) == 30  # each frame once
    fresh = FootageSource(str(clip), 96, 56)
    assert np.array_equal(looped, np.concatenate([fresh.planes(times[k : k + 1], cpu)[0].numpy() for k in range(75)]))
    assert len(converted) == 30 + 75  # without room to keep them: every frame, every loop

    converted.clear()
    short = FootageSource(str(clip), 96, 56, keep_bytes=29 * frame_bytes)  # one frame short: keeps none
    for k in range(40):
        short.planes(times[k : k + 1], cpu)
    assert len(converted) == 40 and not short._cache


def test_a_kept_clip_is_decoded_ahead_on_its_own_thread(clip: Path, converted: list[str]) -> None:
    cpu = torch.device("cpu")
    src = FootageSource(str(clip), 96, 56, keep_bytes=1 << 30)
    src.prefetch(yuv=True)
    deadline = time.monotonic() + 20.0
    while len(src._cache) < 30 and time.monotonic() < deadline:  # nothing read yet
        time.sleep(0.01)
    assert converted == ["footage"] * 30  # the whole clip, once, on the prefetching thread
    times = np.arange(45) / 30.0 + 1e-4
    read = np.concatenate([src.planes(times[k : k + 1], cpu)[0].numpy() for k in range(45)])
    assert len(converted) == 30  # the reads decode nothing
    fresh = FootageSource(str(clip), 96, 56)
    assert np.array_equal(read, np.concatenate([fresh.planes(times[k : k + 1], cpu)[0].numpy() for k in range(45)]))


@pytest.mark.parametrize("step", [1, 2])
def test_a_clip_not_kept_is_decoded_a_few_frames_ahead_of_the_reads(
    clip: Path, converted: list[str], step: int
) -> None:
    """Footage too long to keep is decoded on its own thread too, AHEAD frames past the last read in steps of the
    reads (a 15 fps reel over 30 fps footage reads every other frame), and the frames passed are let go; the frames
    read are the same, round the loop too."""
    cpu = torch.device("cpu")
    src = FootageSource(str(clip), 96, 56)
    src.prefetch(yuv=True)
    times = np.arange(0, 75, step) / 30.0 + 1e-4  # past the end of the 1 s clip: it loops
    read = [src.planes(times[:1], cpu)[0].numpy()]
    src.planes(times[1:2], cpu)  # the reads' step is known from here
    read.append(src.planes(times[1:2], cpu)[0].numpy())
    ahead = [(1 + k) * step % 30 for k in range(1, FootageSource.AHEAD + 1)]
    deadline = time.monotonic() + 20.0
    while not {(i, True) for i in ahead} <= src._cache.keys() and time.monotonic() < deadline:
        time.sleep(0.01)
    # The next AHEAD frames the reads want, no more, and the frame just read if it came from there (it may be read
    # again); at most one decoded as the reads' step changed, let go at the next read.
    assert sorted(i for i, _ in src._cache if i != step and i % step == 0) == sorted(ahead)
    assert len(src._cache) <= FootageSource.AHEAD + 2
    readers = len(converted) - converted.count("footage")
    for k in range(2, len(times)):
        i, until = int(src.indices(times[k : k + 1])[0]), time.monotonic() + 10.0
        while (i, True) not in src._cache and time.monotonic() < until:  # composing takes longer than decoding
            time.sleep(0.001)
        read.append(src.planes(times[k : k + 1], cpu)[0].numpy())
        assert len(src._cache) <= FootageSource.AHEAD + 1  # the frames passed are let go
    src.close()
    assert len(converted) - converted.count("footage") == readers  # every later frame came decoded ahead
    # Never further ahead than AHEAD reads: at most the frames read, those ahead of the last, and one decoded as
    # the reads' step changed.
    assert converted.count("footage") <= len(times) + FootageSource.AHEAD + 1
    fresh = FootageSource(str(clip), 96, 56)
    want = [fresh.planes(times[k : k + 1], cpu)[0].numpy() for k in range(len(times))]
    assert all(np.array_equal(a, b) for a, b in zip(read, want, strict=True))


def test_reads_as_fast_as_decoding_ahead_never_seek_back(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads that catch up with the decoding ahead (each one racing it for the frame it is decoding) get that frame:
    the decoder seeks only where the clip loops, never back to decode a frame twice. Seeking back costs decoding
    from the last keyframe: a 30 s clip that does not loop once took 44 s instead of 21 that way."""
    seeks: list[int] = []
    real = ClipDecoder._seek

    def counted(self: ClipDecoder, idx: int) -> None:
        seeks.append(idx)
        real(self, idx)

    monkeypatch.setattr(ClipDecoder, "_seek", counted)
    cpu = torch.device("cpu")
    times = np.arange(90) / 30.0 + 1e-4  # three times round the 1 s clip
    for _ in range(3):
        seeks.clear()
        src = FootageSource(str(clip), 96, 56)
        src.prefetch(yuv=True)
        read = [src.planes(times[k : k + 1], cpu)[0].numpy() for k in range(90)]
        src.close()
        assert set(seeks) == {0} and len(seeks) <= 2 + 2 * 2, seeks  # opening, and where it loops: to frame 0
    fresh = FootageSource(str(clip), 96, 56)
    assert all(np.array_equal(r, fresh.planes(times[k : k + 1], cpu)[0].numpy()) for k, r in enumerate(read))


def test_the_compositor_keeps_footage_only_when_it_loops_within_its_frames(clip: Path, tmp_path: Path) -> None:
    narration = make_tone(tmp_path / "n.wav", seconds=3.0)
    plan = build_plan(get_preset("tiktok").at_size(96, 160), narration, [], 2.8, str(clip), None, "t")
    assert plan.layers[0].end > 2.0  # the 1 s clip loops
    whole, part = Compositor(plan), Compositor(plan, frames=(0, 20))
    for comp in (whole, part):
        comp.render_planes(np.array([0]))
    assert whole._sources[0].keep_bytes > 0
    assert part._sources[0].keep_bytes == 0  # its 20 frames never reach the clip's end


def test_footage_reader_leaves_no_thread_busy(clip: Path) -> None:
    src = FootageSource(str(clip), 96, 56)
    src.raw(np.arange(10) / 30.0, torch.device("cpu"))
    waiting, closed = FootageSource(str(clip), 96, 56), FootageSource(str(clip), 96, 56)
    for ahead in (waiting, closed):  # decoding ahead: one waits for the reads to move on, one is closed
        ahead.prefetch(yuv=True)
        ahead.planes(np.arange(3) / 30.0, torch.device("cpu"))
    closed.close()
    before = time.process_time()
    time.sleep(0.5)
    # decord's reader kept a thread spinning on a whole core here (0.5 s of CPU in 0.5 s).
    assert time.process_time() - before < 0.05


def _without_captions(plan: RenderPlan) -> RenderPlan:
    return dataclasses.replace(plan, captions=dataclasses.replace(plan.captions, pages=()))


def test_blur_fill_fast_path_is_the_reference_picture(soft_clip: Path, tmp_path: Path) -> None:
    narration = make_tone(tmp_path / "n.wav", seconds=1.0)
    preset = get_preset("tiktok").at_size(96, 160)
    plan = build_plan(preset, narration, [WordTiming("x", 5.0, 5.1)], 0.4, str(soft_clip), None, "t")
    plan = _without_captions(plan)
    layer = plan.layers[0]
    assert layer.fit == "blur_fill" and [e.name for e in layer.effects] == ["ken_burns", "color_grade", "vignette"]
    frames = np.array([0, 7, 14])
    fast = Compositor(plan).render_planes(frames)

    # Reference: every effect in RGB, in the plan's order, on the fitted source; then blur-fill; then the vignette.
    # The one intended difference: the fast path clips a grade's out-of-range colours to the legal YUV range after
    # converting, so the reference does too.
    src = FootageSource(str(soft_clip), 96, 56)
    times = frames / plan.output.fps
    if src.bt709:  # the renderer reads the stored planes; the reference turns them into RGB exactly
        y, uv = src.planes(times - layer.start, torch.device("cpu"))
        x = Planes((y.float() - 16.0) / 219.0, (uv.float() - 128.0) / 224.0).to_rgb()
    else:
        x = src.frames(times - layer.start, torch.device("cpu"))
    t = torch.as_tensor((times - layer.start) / (layer.end - layer.start), dtype=torch.float32)
    kb, grade, vignette = (make_effect(e.name, e.params) for e in layer.effects)
    assert isinstance(grade, ColorGrade)
    x = mix_channels(kb.apply(x, t), *grade.affine())  # grade.apply() without its RGB clip
    ref = rgb_to_planes(blur_fill(x, 160, 96))
    gain = vignette.apply(torch.ones(1, 1, 160, 96), t)
    ref.y = ref.y.clamp(0.0, 1.0) * gain[:, 0]
    ref.uv = ref.uv.clamp(-0.5, 0.5) * F.avg_pool2d(gain, 2)

    fore = slice(52, 108)  # the fitted picture's rows
    dy = (fast.y - ref.y).abs() * 255
    assert dy[:, fore].max() < 0.01  # grade folded into the conversion, zoom/pan on the luma plane: exact
    assert dy.mean() < 0.5 and dy.max() < 3.0  # the backdrop is cut from a half-size copy, then blurred
    duv = (fast.uv - ref.uv).abs() * 255  # chroma zoomed at its own resolution
    assert duv.mean() < 0.5 and duv.max() < 4.0
    assert (fast.y[0] - fast.y[2]).abs().mean() * 255 > 1.0  # and it moves


def test_a_crossfade_frame_blends_the_two_layers(clip: Path, soft_clip: Path, tmp_path: Path) -> None:
    folder = tmp_path / "footage"
    folder.mkdir()
    (folder / "a.mp4").symlink_to(clip)
    (folder / "b.mp4").symlink_to(soft_clip)
    narration = make_tone(tmp_path / "n.wav", seconds=2.0)
    plan = build_plan(get_preset("tiktok").at_size(96, 160), narration, [], 1.6, str(folder), None, "t")
    plan = _without_captions(plan)
    first, second = plan.layers[:2]
    assert second.fade_in > 0 and second.start < first.end
    fps = plan.output.fps
    frame = round((second.start + second.fade_in / 2) * fps)
    times = np.array([frame / fps])
    alpha = (times[0] - second.start) / second.fade_in

    comp = Compositor(plan)
    a, b = comp._layer(0, first, times), comp._layer(1, second, times)
    want_y = torch.lerp(a.y, b.y, float(alpha)).clone()
    assert (a.y - b.y).abs().mean() * 255 > 5  # two different pictures
    mixed = Compositor(plan).render_planes(np.array([frame]))
    assert torch.allclose(mixed.y, want_y, atol=1e-5)


@dataclasses.dataclass(frozen=True)
class _Invert:
    """An effect the compositor has never heard of: it declares its kind and nothing else."""

    kind: ClassVar[EffectKind] = "pixels"

    def apply(self, frames: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 1.0 - frames


def test_a_new_effect_takes_its_place_by_its_kind_alone(
    monkeypatch: pytest.MonkeyPatch, clip: Path, tmp_path: Path
) -> None:
    monkeypatch.setitem(effects.REGISTRY, "invert", _Invert)
    monkeypatch.setitem(limits.EFFECT_PARAMS, "invert", {})
    words = [WordTiming("x", 0.1, 0.3)]
    base = build_plan(get_preset("reels").at_size(180, 320), make_tone(tmp_path / "n.wav", 1.0), words, 1.0, str(clip))
    base = dataclasses.replace(base, captions=dataclasses.replace(base.captions, pages=()))
    layer = dataclasses.replace(base.layers[0], fit="crop")
    plain = dataclasses.replace(base, layers=(dataclasses.replace(layer, effects=()),))
    inverted = dataclasses.replace(base, layers=(dataclasses.replace(layer, effects=(EffectSpec("invert"),)),))
    inverted.validate()
    a = Compositor(plain).render(np.array([5]))
    b = Compositor(inverted).render(np.array([5]))
    assert torch.allclose(b, 1.0 - a, atol=0.03)  # through the general RGB path, before the fit
