"""Offline script writer, the user's script file, and the content extras."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.content import analyze, hashtags_for, hook_variations, platform_copy
from pipeline.errors import InvalidInputError, InvalidMediaError, ScriptTooLongError
from pipeline.planner import check_script_length
from pipeline.platforms import get_preset
from pipeline.script import Brief, Script
from pipeline.writers.from_file import FileScriptWriter
from pipeline.writers.offline import OfflineWriter


def test_offline_script_is_deterministic_on_topic_and_varies_across_topics() -> None:
    w = OfflineWriter()
    a1, a2 = w.write(Brief("How black holes form")), w.write(Brief("How black holes form"))
    b = w.write(Brief("Why cats purr", audience="pet owners", tone="funny"))
    assert a1 == a2
    assert a1.text != b.text
    assert "black holes" in a1.text.lower()
    assert a1.hook and a1.call_to_action and len(a1.beats) >= 2
    assert all(t.startswith("#") for t in a1.hashtags)


def test_offline_length_follows_the_target() -> None:
    w = OfflineWriter()
    short, long = w.write(Brief("Volcanoes", target_seconds=15)), w.write(Brief("Volcanoes", target_seconds=60))
    assert long.word_count > short.word_count * 1.5
    assert 35 <= long.estimated_seconds() <= 80


@pytest.mark.parametrize("target", [6.0, 10.0, 12.0, 15.0, 20.0, 30.0, 45.0, 60.0])
def test_offline_script_fits_short_and_long_targets(target: float) -> None:
    for topic in ("How black holes form", "Volcanoes", "Why cats purr"):
        s = OfflineWriter().write(Brief(topic, target_seconds=target))
        hook_only = Script(s.title, s.hook, ()).estimated_seconds()
        assert s.estimated_seconds() <= max(target, hook_only) + 0.01, topic  # never past the target but the hook
        if target >= 12:
            assert s.estimated_seconds() >= 0.7 * target, topic
        assert bool(s.call_to_action) == (target >= 15), topic  # a short reel spends no seconds on "follow me"


def test_sentences_split_the_narration() -> None:
    s = Script("t", "Hook one. Hook two!", ("Beat?",), "Follow.")
    assert s.sentences() == ["Hook one.", "Hook two!", "Beat?", "Follow."]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"topic": "  "}, "topic"),
        ({"topic": "x" * 301}, "topic"),
        ({"topic": "ok", "target_seconds": 1.0}, "target_seconds"),
    ],
)
def test_bad_briefs_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        Brief(**kwargs)
    assert e.value.field == field


def test_too_long_script_is_refused_with_numbers() -> None:
    script = Script("t", "word " * 500, ())
    check_script_length(script, get_preset("tiktok"), 160)  # 600 s limit: fits
    with pytest.raises(ScriptTooLongError, match=r"shorts: 500 words ≈ 187\.8 s of narration, the limit is 180 s"):
        check_script_length(script, get_preset("shorts"), 160)


def test_script_file(tmp_path: Path) -> None:
    p = tmp_path / "s.txt"
    p.write_text("# a comment\nBig hook here. Then a beat.\nAnother beat!\nCTA: Follow now.\n")
    s = FileScriptWriter(p).write(Brief("My topic"))
    assert s.hook == "Big hook here." and s.beats == ("Then a beat.", "Another beat!")
    assert s.call_to_action == "Follow now." and s.title == "My topic"
    with pytest.raises(InvalidMediaError, match="no such file"):
        FileScriptWriter(tmp_path / "nope.txt").write(Brief("x"))
    (tmp_path / "e.txt").write_text("\n# only a comment\n")
    with pytest.raises(InvalidInputError, match="holds no text"):
        FileScriptWriter(tmp_path / "e.txt").write(Brief("x"))


def test_hashtags_and_platform_copy() -> None:
    tags = hashtags_for("How black holes form", "Stars collapse. Black holes grow.", "tiktok")
    assert tags[0] == "#blackholesform" and "#fyp" in tags and len(tags) <= 8
    s = OfflineWriter().write(Brief("Deep sea creatures"))
    shorts = platform_copy(s, "Deep sea creatures", get_preset("shorts"))
    assert "#shorts" in shorts.title and len(shorts.title) <= 100


def test_quality_report_flags_real_problems() -> None:
    good = OfflineWriter().write(Brief("Rainbows"))
    report = analyze(good, get_preset("tiktok"))
    assert report.fits_platform and report.words == good.word_count and report.hook_seconds < 6
    bad = Script("t", " ".join(["incomprehensibility"] * 20), ())
    issues = " ".join(analyze(bad, get_preset("reels")).issues)
    assert "hook takes" in issues and "reading ease" in issues and "no call to action" in issues


def test_hook_variations_are_distinct() -> None:
    v = hook_variations("How rainbows form", 3)
    assert len(v) == 3 and len(set(v)) == 3 and all("rainbows" in h for h in v)


def test_errors_survive_pickling_with_their_fields() -> None:
    """Ray returns a worker's exception pickled; the field names and messages must come back intact."""
    import pickle

    from pipeline.errors import MissingToolError, ProviderError

    for err in (
        InvalidInputError("params.topic", "empty"),
        InvalidMediaError("/x.mp4", "corrupt"),
        ScriptTooLongError("shorts", 200.0, 180.0, 500),
        MissingToolError("espeak-ng", "apt-get install"),
        ProviderError("openai", "auth", "bad key"),
    ):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err) and back.__dict__ == err.__dict__


def test_scripts_are_written_at_the_voice_pace() -> None:
    slow, fast = (OfflineWriter().write(Brief("Volcanoes", target_seconds=40, words_per_minute=w)) for w in (150, 200))
    assert fast.word_count > slow.word_count * 1.15  # a faster voice needs more words for the same length
    assert fast.estimated_seconds(200) <= 40 and slow.estimated_seconds(150) <= 40
    with pytest.raises(InvalidInputError) as e:
        Brief("x", words_per_minute=20)
    assert e.value.field == "words_per_minute"
