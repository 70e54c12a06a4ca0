"""Caption pages, SRT/VTT export and loading of the user's caption files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.captions import WordTiming, load_captions, paginate, to_srt, to_vtt
from pipeline.errors import InvalidMediaError


def words(text: str, step: float = 0.3) -> list[WordTiming]:
    return [WordTiming(w, round(i * step, 3), round(i * step + step * 0.9, 3)) for i, w in enumerate(text.split())]


def test_pages_respect_line_and_page_limits() -> None:
    ws = words("the quick brown fox jumps over the lazy dog and keeps running far away")
    pages = paginate(ws, max_chars_per_line=10, max_lines=2)
    assert [w for p in pages for w in p.words] == ws  # nothing lost or reordered
    for p in pages:
        assert len(p.lines) <= 2
        for line in p.lines:
            assert len(" ".join(p.words[j].word for j in line)) <= 10 or len(line) == 1


def test_sentence_end_and_pause_start_a_new_page() -> None:
    ws = words("Hello there. General idea")
    ws[3] = WordTiming("idea", 5.0, 5.3)  # a long pause before the last word
    pages = paginate(ws, 40, 2)
    assert [p.text for p in pages] == ["Hello there.", "General", "idea"]


def test_srt_and_vtt_times_and_text() -> None:
    pages = paginate(words("one two three four", 1.0), 10, 1)
    srt = to_srt(pages)
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,900\none two\n")
    vtt = to_vtt(pages)
    assert vtt.startswith("WEBVTT\n") and "00:00:02.000 --> 00:00:03.900\nthree four" in vtt


def test_srt_round_trip_keeps_cue_bounds(tmp_path: Path) -> None:
    pages = paginate(words("alpha beta gamma delta epsilon", 0.5), 11, 1)
    (tmp_path / "c.srt").write_text(to_srt(pages))
    (tmp_path / "c.vtt").write_text(to_vtt(pages))
    for name in ("c.srt", "c.vtt"):
        loaded = load_captions(tmp_path / name)
        assert [w.word for w in loaded] == ["alpha", "beta", "gamma", "delta", "epsilon"]
        assert loaded[0].start == pytest.approx(pages[0].start) and loaded[-1].end == pytest.approx(pages[-1].end)


def test_json_word_captions(tmp_path: Path) -> None:
    p = tmp_path / "w.json"
    p.write_text(json.dumps([{"word": "hi", "start": 0.1, "end": 0.4}, {"word": "you", "start": 0.5, "end": 0.9}]))
    assert load_captions(p) == [WordTiming("hi", 0.1, 0.4), WordTiming("you", 0.5, 0.9)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("just some text", "no captions found"),
        ('[{"word": "x", "start": 1.0}]', "not valid"),
        ('[{"word": "x", "start": 2.0, "end": 1.0}]', "not valid"),
        ("1\n00:00:05,000 --> 00:00:04,000\nback\n", "not valid"),
        ("1\n00:00:05,000 --> 00:00:06,000\nb\n\n2\n00:00:01,000 --> 00:00:02,000\na\n", "back in time"),
    ],
)
def test_bad_caption_files_are_refused_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "bad.srt"
    p.write_text(content)
    with pytest.raises(InvalidMediaError, match=message) as e:
        load_captions(p)
    assert e.value.path == str(p)
