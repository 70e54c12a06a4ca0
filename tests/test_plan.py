"""RenderPlan: JSON round trip, layout of backgrounds, and refusal of broken plans."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest

from pipeline.captions import WordTiming
from pipeline.errors import InvalidInputError, InvalidMediaError, ScriptTooLongError
from pipeline.plan import RenderPlan
from pipeline.planner import build_plan
from pipeline.platforms import get_preset
from tests.media import make_clip

WORDS = [WordTiming(w, i * 0.4, i * 0.4 + 0.35) for i, w in enumerate("one two three four five six".split())]


@pytest.fixture
def footage_folder(tmp_path: Path, landscape_clip: Path) -> Path:
    d = tmp_path / "footage"
    d.mkdir()
    shutil.copy(landscape_clip, d / "a.mp4")
    make_clip(d / "b.mp4", 240, 160, seconds=1.0, seed=3)
    (d / "notes.txt").write_text("not a video")
    return d


def test_plan_round_trips_through_json_unchanged(footage_folder: Path, music_wav: Path) -> None:
    plan = build_plan(get_preset("reels"), "/x/narration.wav", WORDS, 2.4, str(footage_folder), str(music_wav), "T")
    text = plan.to_json()
    again = RenderPlan.from_json(text)
    assert again == plan
    assert again.to_json() == text


def test_folder_footage_is_laid_in_order_with_crossfades(footage_folder: Path) -> None:
    plan = build_plan(get_preset("tiktok"), "/x/n.wav", WORDS, 5.0, str(footage_folder))
    layers = plan.layers
    assert [Path(lay.path or "").name for lay in layers[:3]] == ["a.mp4", "b.mp4", "a.mp4"]
    assert layers[0].start == 0 and layers[-1].end == pytest.approx(plan.duration)
    for prev, nxt in itertools.pairwise(layers):
        assert nxt.fade_in > 0 and nxt.start == pytest.approx(prev.end - nxt.fade_in)


def test_procedural_background_when_no_footage() -> None:
    plan = build_plan(get_preset("tiktok"), "/x/n.wav", WORDS, 2.4)
    assert [lay.kind for lay in plan.layers] == ["procedural"]
    assert plan.frame_count == round((2.4 + 0.6) * 30)


def test_narration_longer_than_the_platform_allows_is_refused() -> None:
    with pytest.raises(ScriptTooLongError, match="limit is 180 s"):
        build_plan(get_preset("shorts"), "/x/n.wav", WORDS, 200.0)


def test_bad_background_names_the_file(corrupt_clip: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidMediaError) as e:
        build_plan(get_preset("tiktok"), "/x/n.wav", WORDS, 2.0, str(corrupt_clip))
    assert e.value.path == str(corrupt_clip)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidMediaError, match="no video files"):
        build_plan(get_preset("tiktok"), "/x/n.wav", WORDS, 2.0, str(tmp_path / "empty"))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["output"].update(width=271), "plan.output"),
        (lambda d: d["output"].update(fps="30"), "plan.output.fps"),
        (lambda d: d.update(duration=-1), "plan.duration"),
        (lambda d: d.update(layers=[]), "plan.layers"),
        (lambda d: d["layers"][0].update(kind="hologram"), "plan.layers[0].kind"),
        (lambda d: d.update(colour="red"), "plan"),
        (lambda d: d.update(version=99), "plan.version"),
        (lambda d: d.update(audio=[]), "plan.audio"),
    ],
)
def test_broken_plans_are_refused_naming_the_field(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    data = build_plan(get_preset("tiktok"), "/x/n.wav", WORDS, 2.4).to_dict()
    mutate(data)
    with pytest.raises(InvalidInputError) as e:
        RenderPlan.from_json(json.dumps(data))
    assert e.value.field == field


def test_plan_that_is_not_json() -> None:
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        RenderPlan.from_json("{nope")
