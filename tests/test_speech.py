"""espeak-ng narration: real audio, word timings that follow the voice, rate and voice options."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pipeline.captions import WordTiming
from pipeline.errors import InvalidInputError
from pipeline.speech.base import snap_to_pauses
from pipeline.speech.espeak import EspeakEngine
from tests.conftest import requires_espeak

pytestmark = requires_espeak


def audible_onsets(audio: np.ndarray, rate: int) -> list[float]:
    """Times where sound resumes after >= 60 ms under -40 dBFS, in 10 ms RMS frames (independent of our code)."""
    hop = rate // 100
    rms = np.sqrt(np.mean(audio[: len(audio) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    loud = 20 * np.log10(rms + 1e-9) > -40
    onsets, quiet_run = [], 0
    for i, on in enumerate(loud):
        if on and quiet_run >= 6:
            onsets.append(i / 100)
        quiet_run = 0 if on else quiet_run + 1
    return onsets


def test_narration_is_real_speech_with_ordered_word_times() -> None:
    n = EspeakEngine().synthesize(["How do black holes form?", "A star collapses."], None, 1.0)
    assert n.sample_rate == 22_050 and 1.5 < n.duration < 5.0
    assert [w.word for w in n.words] == ["How", "do", "black", "holes", "form?", "A", "star", "collapses."]
    for a, b in itertools.pairwise(n.words):
        assert a.start < a.end <= b.start
    assert n.words[0].start == 0.0 and n.words[-1].end == pytest.approx(n.duration, abs=0.01)


def test_highlight_starts_when_the_voice_resumes_after_a_pause() -> None:
    n = EspeakEngine().synthesize(["Red, green, and blue, then purple."], None, 1.0)
    onsets = audible_onsets(n.audio, n.sample_rate)
    assert len(onsets) >= 2
    starts = [w.start for w in n.words]
    for t in onsets:
        assert min(abs(s - t) for s in starts) < 0.04, (t, starts)


def test_faster_rate_is_shorter() -> None:
    e = EspeakEngine()
    slow = e.synthesize(["This sentence is spoken at two speeds."], None, 1.0)
    fast = e.synthesize(["This sentence is spoken at two speeds."], None, 1.5)
    assert fast.duration < slow.duration * 0.8


def test_voices_and_bad_options() -> None:
    e = EspeakEngine()
    assert "en-us" in {v.id for v in e.voices()}
    with pytest.raises(InvalidInputError) as err:
        e.synthesize(["Hi."], "xx-nope", 1.0)
    assert err.value.field == "voice"
    with pytest.raises(InvalidInputError, match="rate"):
        e.synthesize(["Hi."], None, 3.0)


def test_snap_moves_boundaries_onto_nearby_pauses_only() -> None:
    words = [WordTiming("a", 0.0, 0.5), WordTiming("b", 0.5, 1.0), WordTiming("c", 1.0, 1.5)]
    snapped = snap_to_pauses(words, [(0.45, 0.6), (3.0, 3.2)])
    assert snapped == [WordTiming("a", 0.0, 0.45), WordTiming("b", 0.6, 1.0), WordTiming("c", 1.0, 1.5)]
