"""Rendering a plan: encoded output checked with ffprobe; segments joined frame-exactly; atomic output."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.captions import WordTiming
from pipeline.encode import split_frames
from pipeline.errors import InvalidMediaError
from pipeline.plan import RenderPlan
from pipeline.planner import build_plan
from pipeline.platforms import get_preset
from pipeline.render import InProcess, render
from tests.media import ffprobe, frames_rgb, make_tone, moov_before_mdat, stream

SMALL = get_preset("tiktok").at_size(180, 320)
WORDS = [WordTiming(w, 0.1 + i * 0.5, 0.1 + i * 0.5 + 0.45) for i, w in enumerate("alpha beta gamma delta".split())]


@pytest.fixture(scope="module")
def narration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tone(tmp_path_factory.mktemp("n") / "narration.wav", seconds=2.0, freq=330)


@pytest.fixture(scope="module")
def footage_plan(narration: Path, landscape_clip: Path, music_wav: Path) -> RenderPlan:
    return build_plan(SMALL, narration, WORDS, 2.0, str(landscape_clip), str(music_wav), "test")


@pytest.fixture(scope="module")
def one_segment(footage_plan: RenderPlan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(footage_plan, tmp_path_factory.mktemp("r") / "one.mp4")


def test_output_is_a_platform_ready_mp4(one_segment: Path, footage_plan: RenderPlan) -> None:
    info = ffprobe(one_segment)
    v, a = stream(info, "video"), stream(info, "audio")
    assert (v["codec_name"], v["pix_fmt"], v["width"], v["height"]) == ("h264", "yuv420p", 180, 320)
    assert v["r_frame_rate"] == "30/1" and int(v["nb_read_frames"]) == footage_plan.frame_count
    assert a["codec_name"] == "aac" and int(a["channels"]) == 2 and a["sample_rate"] == "48000"
    assert float(a["duration"]) == pytest.approx(footage_plan.frame_count / 30, abs=0.05)
    assert moov_before_mdat(one_segment)


def test_segments_join_frame_exact_and_in_sync(footage_plan: RenderPlan, one_segment: Path, tmp_path: Path) -> None:
    joined = render(footage_plan, tmp_path / "three.mp4", InProcess(segments=3))
    n = footage_plan.frame_count
    with av.open(str(joined)) as c:
        vs = c.streams.video[0]
        pts = sorted(float(p.pts * vs.time_base) for p in c.demux(vs) if p.pts is not None)
    assert len(pts) == n
    assert np.allclose(np.diff(pts), 1 / 30, atol=1e-4)  # no gap or overlap at the joins
    assert pts[0] == pytest.approx(0.0, abs=1e-6)
    # Each segment starts with a keyframe, and frames at the joins match the single-segment render.
    starts = [a for a, _ in split_frames(n, 3)]
    with av.open(str(joined)) as c:
        keys = [i for i, f in enumerate(c.decode(video=0)) if f.key_frame]
    assert set(starts) <= set(keys)
    a, b = frames_rgb(one_segment, starts), frames_rgb(joined, starts)
    for i in starts:
        assert np.abs(a[i].astype(int) - b[i].astype(int)).mean() < 3.0
    ia, ja = stream(ffprobe(one_segment), "audio"), stream(ffprobe(joined), "audio")
    assert ia["duration"] == ja["duration"]


def test_background_moves_and_captions_show(one_segment: Path) -> None:
    f = frames_rgb(one_segment, [5, 40])
    assert np.abs(f[5].astype(int) - f[40].astype(int)).mean() > 2.0


def test_procedural_default_is_never_a_still_frame(narration: Path, tmp_path: Path) -> None:
    plan = build_plan(SMALL, narration, WORDS, 2.0)
    out = render(plan, tmp_path / "p.mp4")
    f = frames_rgb(out, [0, 30, 60])
    top = slice(0, 60)  # above the captions
    assert np.abs(f[0][top].astype(int) - f[60][top].astype(int)).mean() > 1.0


def test_corrupt_footage_in_a_plan_names_the_file_and_leaves_no_output(
    footage_plan: RenderPlan, corrupt_clip: Path, tmp_path: Path
) -> None:
    bad = dataclasses.replace(
        footage_plan, layers=(dataclasses.replace(footage_plan.layers[0], path=str(corrupt_clip)),)
    )
    out = tmp_path / "never.mp4"
    with pytest.raises(InvalidMediaError) as e:
        render(bad, out)
    assert e.value.path == str(corrupt_clip)
    assert list(tmp_path.iterdir()) == []


def test_missing_narration_leaves_no_half_written_file(footage_plan: RenderPlan, tmp_path: Path) -> None:
    bad = dataclasses.replace(footage_plan, audio=(dataclasses.replace(footage_plan.audio[0], path="/nope.wav"),))
    with pytest.raises(InvalidMediaError, match=r"/nope\.wav"):
        render(bad, tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []


def test_split_frames_covers_everything() -> None:
    assert split_frames(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert split_frames(2, 5) == [(0, 1), (1, 2)]
