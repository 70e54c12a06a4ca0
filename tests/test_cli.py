"""The `reels` command end to end (real espeak-ng, real encodes checked with ffprobe) and its bad-input paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cluster.cli import main
from pipeline.audio import load_audio
from tests.conftest import requires_espeak
from tests.media import ffprobe, frames_rgb, loudness, make_tone, moov_before_mdat, stream

REELS = str(Path(sys.executable).with_name("reels"))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("make") / "bh.mp4"
    proc = subprocess.run(
        [REELS, "make", "How black holes form", "--size", "270x480", "--seconds", "10", "--output", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    result["meta"] = json.loads(Path(result["metadata"]).read_text())
    return result


@requires_espeak
def test_make_writes_a_playable_vertical_video(made: dict) -> None:
    info = ffprobe(Path(made["video"]))
    v, a = stream(info, "video"), stream(info, "audio")
    assert (v["codec_name"], v["pix_fmt"], v["width"], v["height"], v["r_frame_rate"]) == (
        "h264",
        "yuv420p",
        270,
        480,
        "30/1",
    )
    words = made["meta"]["captions"]["words"]
    narration_end = words[-1]["end"]
    assert float(info["format"]["duration"]) == pytest.approx(narration_end + 0.6, abs=0.1)
    assert 8.0 <= float(info["format"]["duration"]) <= 12.5  # --seconds 10 (23 s while scripts had a length floor)
    assert a["codec_name"] == "aac"
    assert moov_before_mdat(Path(made["video"]))
    assert Path(made["srt"]).read_text().startswith("1\n00:00:00") and Path(made["vtt"]).read_text().startswith(
        "WEBVTT"
    )


@requires_espeak
def test_make_audio_is_speech_at_platform_loudness(made: dict) -> None:
    lufs, peak = loudness(Path(made["video"]))
    assert lufs == pytest.approx(-14.0, abs=1.0)
    assert peak <= -1.0
    audio = load_audio(made["video"]).mean(axis=1)
    words = made["meta"]["captions"]["words"]
    spoken = np.concatenate([audio[int(w["start"] * 48000) : int(w["end"] * 48000)] for w in words])
    tail = audio[int((words[-1]["end"] + 0.15) * 48000) :]
    assert np.sqrt(np.mean(spoken**2)) > 10 * np.sqrt(np.mean(tail**2) + 1e-12)  # voice where the words are


@requires_espeak
def test_make_captions_change_at_word_boundaries(made: dict) -> None:
    """The highlight moves when a word starts: the caption band changes across a boundary, not within a word."""
    words = made["meta"]["captions"]["words"]
    picks = [w for w in words[1:12] if w["end"] - w["start"] > 0.25][:4]
    idx = []
    for w in picks:
        b = round(w["start"] * 30)
        idx += [b - 2, b + 2, b + 4]
    frames = frames_rgb(Path(made["video"]), idx)
    band = slice(int(480 * 0.45), int(480 * 0.8))
    for k in range(len(picks)):
        # White text turning yellow (or back) swings the blue channel by ~200; background drift moves it a little.
        before, after, later = (frames[i][band, :, 2].astype(int) for i in idx[3 * k : 3 * k + 3])
        across, within = int((np.abs(after - before) > 100).sum()), int((np.abs(later - after) > 100).sum())
        assert across > 40 and within * 5 < across, (picks[k], across, within)


@requires_espeak
def test_make_metadata_has_platform_copy_and_quality(made: dict) -> None:
    meta = made["meta"]
    assert set(meta["platforms"]) == {"tiktok", "reels", "shorts"}
    assert meta["platforms"]["shorts"]["title"].endswith("#shorts")
    assert meta["quality"]["fits_platform"] is True and len(meta["hook_variations"]) == 3


@requires_espeak
@pytest.mark.slow
def test_full_size_render(tmp_path: Path) -> None:
    script = tmp_path / "s.txt"
    script.write_text("Black holes bend light. Nothing escapes them.\n")
    out = tmp_path / "full.mp4"
    assert main(["make", "Black holes", "--script", str(script), "--output", str(out), "--json"]) == 0
    v = stream(ffprobe(out), "video")
    assert (v["width"], v["height"], v["pix_fmt"]) == (1080, 1920, "yuv420p")
    f = frames_rgb(out, [3, 60])
    assert np.abs(f[3].astype(int) - f[60].astype(int)).mean() > 0.5


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err.strip()


def test_unknown_platform(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "make", "x", "--platform", "myspace")
    assert (
        code == 2
        and err == "reels: error: platform: unknown platform 'myspace' (choose from tiktok, reels, shorts, 4k)"
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--size", "271x480"], "size: 271x480: width and height must be even (yuv420p)"),
        (["--size", "9998x9998"], "size: width 9998 px is outside 16–3840 px"),
        (["--size", "3840x3840"], "size: 3840x3840 is over 8,294,400 pixels (2160x3840)"),
        (["--seconds", "9000"], "target_seconds: 9000 s is outside 3–600 s"),
        (["--size", "big"], "size: 'big' is not WIDTHxHEIGHT"),
        (["--voiceover", "/etc/hostname"], "give both a voiceover audio file and its captions file"),
        (["--output", "x.avi"], "--output: x.avi must end in .mp4"),
        (["--rate", "9"], "rate: 9 is outside 0.5–2"),
        (["--voice", "klingon"], "voice: unknown espeak voice 'klingon'"),
    ],
)
def test_bad_options_get_one_line_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = run(capsys, "make", "Topic", *args)
    assert code == 2 and needle in err and "Traceback" not in err
    assert not err.startswith("script"), "refused before any stage ran"


def test_corrupt_and_empty_media_name_the_file(
    capsys: pytest.CaptureFixture[str], corrupt_clip: Path, empty_file: Path, tmp_path: Path
) -> None:
    code, err = run(capsys, "make", "x", "--background", str(corrupt_clip), "--output", str(tmp_path / "a.mp4"))
    assert code == 2 and str(corrupt_clip) in err
    caps = tmp_path / "c.srt"
    caps.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    code, err = run(
        capsys,
        "make",
        "x",
        "--voiceover",
        str(empty_file),
        "--captions",
        str(caps),
        "--output",
        str(tmp_path / "b.mp4"),
    )
    assert code == 2 and f"{empty_file}: file is empty" in err
    assert not list(tmp_path.glob("*.mp4"))


@requires_espeak
def test_script_too_long_for_platform_is_refused_before_rendering(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = tmp_path / "long.txt"
    script.write_text("This sentence has exactly seven words here. " * 80)
    code, err = run(
        capsys, "make", "x", "--script", str(script), "--platform", "shorts", "--output", str(tmp_path / "l.mp4")
    )
    assert code == 2 and "script too long for shorts: 560 words" in err and "the limit is 180 s" in err
    assert not list(tmp_path.glob("*.mp4"))


def test_missing_espeak_gives_the_install_hint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, err = run(capsys, "make", "x", "--output", str(tmp_path / "a.mp4"))
    assert code == 4 and "espeak-ng is not installed" in err and "apt-get install espeak-ng" in err


@requires_espeak
def test_voiceover_with_captions_skips_script_and_speech(tmp_path: Path) -> None:
    vo = make_tone(tmp_path / "vo.wav", seconds=2.0)
    caps = tmp_path / "vo.json"
    caps.write_text(
        json.dumps([{"word": "own", "start": 0.0, "end": 0.8}, {"word": "voice", "start": 0.9, "end": 1.9}])
    )
    out = tmp_path / "vo.mp4"
    assert (
        main(
            [
                "make",
                "Mine",
                "--voiceover",
                str(vo),
                "--captions",
                str(caps),
                "--size",
                "180x320",
                "--output",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    meta = json.loads(out.with_suffix(".json").read_text())
    assert [w["word"] for w in meta["captions"]["words"]] == ["own", "voice"]
    assert float(ffprobe(out)["format"]["duration"]) == pytest.approx(
        2.0 + 0.6, abs=0.05
    )  # the voiceover sets the length


@requires_espeak
def test_plan_then_render_equals_a_reel(tmp_path: Path) -> None:
    plan = tmp_path / "p.plan.json"
    assert main(["plan", "Tides", "--size", "180x320", "--seconds", "8", "--output", str(plan), "--json"]) == 0
    data = json.loads(plan.read_text())
    assert data["output"]["width"] == 180 and Path(data["audio"][0]["path"]).is_file()
    out = tmp_path / "p.mp4"
    assert main(["render", str(plan), "--output", str(out), "--segments", "2", "--json"]) == 0
    assert int(stream(ffprobe(out), "video")["nb_read_frames"]) == round(data["duration"] * 30)


def test_render_refuses_a_broken_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"version": 1, "output": 3}')
    code, err = run(capsys, "render", str(p))
    assert code == 2 and "plan.output: expected an object" in err


def test_platforms_and_voices_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["platforms", "--json"]) == 0
    names = [p["name"] for p in json.loads(capsys.readouterr().out)["platforms"]]
    assert names == ["tiktok", "reels", "shorts", "4k"]
