"""Loudness, limiter, ducking and decoding, checked against FFmpeg's own meter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.audio import duck_gain, fit_length, integrated_loudness, load_audio, mix, normalize, true_peak_db
from pipeline.errors import InvalidMediaError
from pipeline.speech.base import write_wav
from tests.media import loudness

RATE = 48_000


def speechlike(seconds: float = 4.0, seed: int = 1) -> np.ndarray:
    """Bursty noise with pauses: a crest factor like speech."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    env = (np.sin(np.arange(n) / RATE * 2 * np.pi * 2.5) > 0).astype(np.float32)
    return (rng.normal(0, 0.1, n) * env).astype(np.float32)


def test_loudness_matches_ffmpeg_ebur128(tmp_path: Path) -> None:
    x = speechlike()
    stereo = np.stack([x, x * 0.5], axis=1)
    write_wav(tmp_path / "a.wav", stereo, RATE)
    ours = integrated_loudness(stereo, RATE)
    theirs, _ = loudness(tmp_path / "a.wav")
    assert ours == pytest.approx(theirs, abs=0.2)


def test_normalize_hits_target_and_true_peak_ceiling(tmp_path: Path) -> None:
    x = speechlike() * 3.0  # loud and clipping-prone
    out = normalize(np.stack([x, x], axis=1), RATE, -14.0, -1.0)
    assert integrated_loudness(out, RATE) == pytest.approx(-14.0, abs=0.5)
    assert true_peak_db(out) <= -1.0
    write_wav(tmp_path / "n.wav", out, RATE)
    lufs, peak = loudness(tmp_path / "n.wav")
    assert lufs == pytest.approx(-14.0, abs=0.6) and peak <= -1.0


def test_silence_is_left_alone() -> None:
    z = np.zeros((RATE, 2), np.float32)
    assert np.array_equal(normalize(z, RATE), z)


def test_music_is_ducked_under_speech_and_recovers() -> None:
    speech = np.zeros(RATE * 3, np.float32)
    speech[RATE : 2 * RATE] = 0.3 * np.sin(np.arange(RATE) / RATE * 2 * np.pi * 300)
    g = duck_gain(speech, RATE, depth_db=-12.0)
    assert g[RATE // 2] == pytest.approx(1.0, abs=1e-3)  # before speech
    assert 20 * np.log10(g[int(1.5 * RATE)]) == pytest.approx(-12.0, abs=0.5)  # during
    assert g[-1] > 0.9  # released after


def test_mix_is_stereo_and_music_loops_to_length() -> None:
    voice = np.zeros(RATE * 2, np.float32)
    music = np.ones((RATE // 2, 2), np.float32) * 0.1
    out = mix(voice, music, RATE)
    assert out.shape == (RATE * 2, 2) and out[-1, 0] > 0
    assert fit_length(music, 10).shape == (10, 2)


def test_load_audio_resamples_to_48k_stereo(music_wav: Path) -> None:
    a = load_audio(music_wav)
    assert a.shape[1] == 2 and len(a) == pytest.approx(3.0 * RATE, abs=2048)


def test_bad_audio_files_name_the_file(
    empty_file: Path, corrupt_clip: Path, landscape_clip: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidMediaError, match="empty") as e:
        load_audio(empty_file)
    assert e.value.path == str(empty_file)
    with pytest.raises(InvalidMediaError, match=str(corrupt_clip)):
        load_audio(corrupt_clip)
    with pytest.raises(InvalidMediaError, match="no audio stream"):
        load_audio(landscape_clip)
    with pytest.raises(InvalidMediaError, match="no such file"):
        load_audio(tmp_path / "missing.wav")
