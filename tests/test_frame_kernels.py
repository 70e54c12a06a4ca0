"""The one-pass CPU frame (pipeline.frame_kernels) against the torch compositor it stands in for: the same bytes,
give or take one code where float rounding falls on a half, and the torch path wherever the one pass does not apply."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import pipeline.one_pass as one_pass
from pipeline import blur_fill_plane as plane
from pipeline import frame_kernels as fused
from pipeline.captions import WordTiming
from pipeline.compositor import Compositor
from pipeline.effects.compose import box_blur, resize
from pipeline.plan import EffectSpec, RenderPlan
from pipeline.planner import build_plan
from pipeline.platforms import get_preset
from tests.media import make_clip, make_tone

WORDS = [WordTiming(w, 0.1 + 0.25 * i, 0.3 + 0.25 * i) for i, w in enumerate("one two three four".split())]


def _plan(tmp_path: Path, clip: Path, effects: tuple[EffectSpec, ...] | None = None) -> RenderPlan:
    narration = make_tone(tmp_path / "n.wav", seconds=1.2)
    plan = build_plan(get_preset("tiktok").at_size(96, 160), narration, WORDS, 1.1, str(clip), None, "t")
    if effects is not None:
        plan = dataclasses.replace(plan, layers=tuple(dataclasses.replace(la, effects=effects) for la in plan.layers))
    return plan


def _both(plan: RenderPlan, frames: list[int], monkeypatch: pytest.MonkeyPatch) -> tuple[np.ndarray, np.ndarray, int]:
    """(one pass, torch) frames as packed yuv420p, and how many planes the one pass made."""
    calls = [0]
    real = one_pass.render_plane

    def counted(*args: object, **kwargs: object) -> None:
        calls[0] += 1
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(one_pass, "render_plane", counted)
    o = plan.output
    got = np.full((len(frames), o.height * 3 // 2, o.width), 7, np.uint8)
    # Rows wider than the picture, as x264's frames have: the one pass must write only the picture's columns.
    rows = [np.full((o.height, o.width + 16), 7, np.uint8) for _ in frames]
    halves = [np.full((o.height // 2, o.width // 2 + 8), 7, np.uint8) for _ in range(2 * len(frames))]
    one = Compositor(plan)
    for k, f in enumerate(frames):
        y, u, v = rows[k], halves[2 * k], halves[2 * k + 1]
        one.render_into(np.array([f]), [(y, u, v)])
        assert (y[:, o.width :] == 7).all() and (u[:, o.width // 2 :] == 7).all()
        got[k, : o.height] = y[:, : o.width]
        got[k, o.height :] = np.concatenate([u[:, : o.width // 2], v[:, : o.width // 2]]).reshape(-1, o.width)
    ref = np.concatenate([Compositor(plan).render_planes(np.array([f])).pack() for f in frames])
    return got, ref, calls[0]


def _assert_same_bytes(got: np.ndarray, ref: np.ndarray) -> None:
    diff = np.abs(got.astype(np.int16) - ref.astype(np.int16))
    assert diff.max() <= 1
    assert (diff > 0).mean() < 0.002  # only where a value sits on a rounding edge


@pytest.mark.parametrize(
    ("size", "effects"),
    [
        ((192, 112), None),  # the planner's Ken Burns, grade and vignette; landscape: backdrop above and below
        ((192, 112), (EffectSpec("ken_burns", {"zoom_start": 1.05, "zoom_end": 1.3, "pan_x": 0.7, "pan_y": -0.5}),)),
        ((192, 112), ()),  # no effects at all
        ((112, 192), (EffectSpec("color_grade", {"contrast": 1.4, "saturation": 1.6, "brightness": 0.1}),)),
    ],
    ids=["planner-effects", "zoom-and-pan", "plain", "portrait-hard-grade"],
)
def test_one_pass_frames_are_the_torch_frames(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    effects: tuple[EffectSpec, ...] | None,
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", *size, seconds=1.0, bt709=True)
    plan = _plan(tmp_path, clip, effects)
    frames = [0, 5, 12, 20, 33]  # captions on (with the active word moving) and off
    got, ref, planes = _both(plan, frames, monkeypatch)
    assert planes == 3 * len(frames)  # the one pass made them all
    _assert_same_bytes(got, ref)
    assert np.abs(got[0].astype(int) - got[-1].astype(int)).mean() > 1  # and they move


def test_frames_the_one_pass_does_not_make_come_from_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bt601 = make_clip(tmp_path / "small.mp4", 192, 112, seconds=1.0)  # unflagged and small: read as BT.601, via RGB
    got, ref, planes = _both(_plan(tmp_path, bt601), [0, 12], monkeypatch)
    assert planes == 0 and np.array_equal(got, ref)

    folder = tmp_path / "footage"
    folder.mkdir()
    for k in range(2):
        make_clip(folder / f"{k}.mp4", 192, 112, seconds=2.0, seed=k, bt709=True)
    narration = make_tone(tmp_path / "n2.wav", seconds=3.0)
    plan = build_plan(get_preset("tiktok").at_size(96, 160), narration, [], 2.8, str(folder), None, "t")
    second = plan.layers[1]
    assert len(plan.layers) == 2 and second.start < plan.layers[0].end <= second.start + second.fade_in
    fade = round((second.start + second.fade_in / 2) * plan.output.fps)
    after = round((second.start + second.fade_in) * plan.output.fps) + 2
    got, ref, planes = _both(plan, [fade, after], monkeypatch)
    assert planes == 3  # the crossfade frame through torch, the frame after it in one pass
    _assert_same_bytes(got, ref)


@pytest.mark.parametrize(("n_in", "n_out"), [(608, 120), (344, 68), (37, 10), (10, 10), (9, 23)])
def test_resize_taps_are_the_resize(n_in: int, n_out: int) -> None:
    x = torch.rand(1, 1, n_in, 5)
    shrink = n_out < n_in
    start, weights = plane.resize_taps(n_in, n_out, shrink)
    want = resize(x, n_out, 5) if shrink else F.interpolate(x, size=(n_out, 5), mode="bilinear", align_corners=False)
    taps = np.stack([x[0, 0, s : s + weights.shape[1]].numpy() for s in start])  # (n_out, taps, 5)
    got = (taps * weights[:, :, None]).sum(axis=1)
    assert np.allclose(got, want[0, 0].numpy(), atol=1e-6)


def test_box_blur_matches_the_torch_box_blur() -> None:
    img = np.random.default_rng(1).random((30, 17), dtype=np.float32)
    want = box_blur(torch.from_numpy(img)[None, None], 3)[0, 0].numpy()
    assert np.allclose(fused._box_blur(img, 3), want, atol=2e-6)


def test_caption_sprite_planes_are_the_torch_sprite(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", 192, 112, seconds=1.0, bt709=True)
    comp = Compositor(_plan(tmp_path, clip))
    rgba, _, _ = comp.captions.image(0, 1)
    assert rgba.shape[2] == 4 and (rgba[..., 3] > 0).mean() > 0.05  # something is drawn
    y, a, u, v, a2 = fused.sprite_planes(rgba)
    _, planes, alpha, alpha2 = comp._sprite(0, 1)
    for got, want in ((y, planes.y[0]), (a, alpha), (u, planes.uv[0, 0]), (v, planes.uv[0, 1]), (a2, alpha2[0])):
        assert got.shape == tuple(want.shape)
        assert np.allclose(got, want.numpy(), atol=2e-6)


def test_a_process_that_exits_while_the_kernels_load_exits_cleanly() -> None:
    # numba aborts the process (SIGABRT) if it is still loading on a daemon thread at exit: CLI commands that
    # never render died this way when the loading started at import.
    for code in ("import pipeline.blur_fill_plane as p; p.preload()", "import pipeline.render"):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]


_YIELDS_SCRIPT = """
import os
import numpy as np
from pipeline import blur_fill_plane as plane

y, _, _ = plane.blur_fill_geometry(1920, 1080, 608, 1080)
codes = np.random.default_rng(3).integers(16, 236, (608, 1080), dtype=np.uint8)
grade = np.array([1 / 219, -16 / 219, 0.0, 1.0], np.float32)
move = np.array([0.9, 0.05, -0.05], np.float32)
frames = []
for give_way in (False, True):
    out = np.zeros((1920, 1088), np.uint8)
    plane.render_plane(y, out, codes, grade, move, plane.EMPTY, None, give_way)  # compiled or loaded before
    os.getpid()  # marks where the counted calls start
    for _ in range(4):
        plane.render_plane(y, out, codes, grade, move, plane.EMPTY, None, give_way)
    os.getpid()
    frames.append(out)
assert np.array_equal(frames[0], frames[1])
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_the_kernels_give_way_every_tenth_of_a_millisecond_only_when_asked(tmp_path: Path) -> None:
    """The renderer composes beside x264 (see frame_kernels.GIVE_WAY): asked to, a full-size plane's kernels call
    sched_yield every ~0.1 ms of work; not asked, never. The frame is the same either way (checked inside)."""
    trace = tmp_path / "trace"
    subprocess.run(
        ["strace", "-f", "-e", "trace=sched_yield,getpid", "-o", str(trace), sys.executable, "-c", _YIELDS_SCRIPT],
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    calls = [("getpid" if "getpid(" in line else "yield") for line in trace.read_text().splitlines() if "(" in line]
    marks = [i for i, c in enumerate(calls) if c == "getpid"]
    assert len(marks) == 4, calls[-20:]
    without = calls[marks[0] + 1 : marks[1]].count("yield")
    with_ = calls[marks[2] + 1 : marks[3]].count("yield")
    assert without == 0
    # 4 luma planes, each: 1920 rows at 121 a yield (15), the backdrop's 240 rows of its ~5 taps by its ~342
    # columns (3) and their widening (1): 19, each ~0.1 ms of this machine's work (the plane takes ~1.6 ms).
    assert 4 * 15 <= with_ <= 4 * 25, with_
