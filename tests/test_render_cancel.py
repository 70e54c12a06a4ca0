"""Stopping a render: interrupted as Ray cancels a task (or by its cancel event), every part of it (decoding,
composing, x264, the audio, the join, parallel segments) stops within a fraction of a second and no file is left."""

from __future__ import annotations

import _thread
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.captions import WordTiming
from pipeline.errors import RenderCancelled
from pipeline.plan import RenderPlan
from pipeline.planner import build_plan
from pipeline.platforms import get_preset
from pipeline.render import InProcess, SegmentRunner, Threads, render
from pipeline.soundtrack import encode_audio
from tests.media import make_tone
from tests.services import wait_for

SECONDS = 20.0
WORDS = [WordTiming(f"w{i}", 0.1 + i * 0.5, 0.5 + i * 0.5) for i in range(int(SECONDS * 2) - 1)]
RENDER_THREADS = ("compose", "x264", "audio", "footage", "render")
STOPS_WITHIN_S = 2.0


@pytest.fixture(scope="module")
def long_plan(tmp_path_factory: pytest.TempPathFactory, landscape_clip: Path, music_wav: Path) -> RenderPlan:
    """A 20 s footage reel at 540x960: several seconds of work on 2 cores, so a stop early in it shows."""
    narration = make_tone(tmp_path_factory.mktemp("cancel") / "narration.wav", seconds=SECONDS)
    preset = get_preset("tiktok").at_size(540, 960)
    return build_plan(preset, narration, WORDS, SECONDS, str(landscape_clip), str(music_wav), "cancel me")


def _render_threads(before: set[threading.Thread]) -> list[str]:
    """Render threads started since `before` (other tests may leave a footage reader open, and its thread)."""
    return [t.name for t in threading.enumerate() if t.name.startswith(RENDER_THREADS) and t not in before]


class Interrupter:
    """Calls _thread.interrupt_main() (what ray.cancel does to a task's main thread) once `when()` holds."""

    def __init__(self, when: Callable[[], bool]) -> None:
        self.when, self.fired_at, self.armed = when, 0.0, True
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        deadline = time.monotonic() + 120
        while self.armed and time.monotonic() < deadline:
            if self.when():
                self.fired_at = time.monotonic()
                _thread.interrupt_main()
                return
            time.sleep(0.005)


@pytest.mark.parametrize("runner", [InProcess(), InProcess(segments=3), Threads(segments=2)])
def test_an_interrupted_render_stops_within_two_seconds_and_leaves_no_file(
    long_plan: RenderPlan, tmp_path: Path, runner: SegmentRunner
) -> None:
    seen: list[float] = []
    out = tmp_path / "reel.mp4"
    before = set(threading.enumerate())
    interrupter = Interrupter(lambda: bool(seen) and seen[-1] > 0.15)
    try:
        with pytest.raises(KeyboardInterrupt):
            render(long_plan, out, runner, progress=lambda f, s: seen.append(f))
        stopped_at = time.monotonic()
    finally:
        interrupter.armed = False
    assert interrupter.fired_at, "the render ended before it could be interrupted"
    assert stopped_at - interrupter.fired_at < STOPS_WITHIN_S
    assert max(seen) < 0.9  # it did not run on to the end first
    assert list(tmp_path.iterdir()) == []  # no output, no temp file
    wait_for(lambda: not _render_threads(before), timeout=STOPS_WITHIN_S)


def test_the_cancel_event_stops_a_render_while_it_joins_segments(long_plan: RenderPlan, tmp_path: Path) -> None:
    cancel = threading.Event()
    before = set(threading.enumerate())

    def progress(f: float, status: str) -> None:
        if status == "joining":
            cancel.set()

    with pytest.raises(RenderCancelled):
        render(long_plan, tmp_path / "reel.mp4", InProcess(segments=2), progress=progress, cancel=cancel)
    assert list(tmp_path.iterdir()) == []
    wait_for(lambda: not _render_threads(before), timeout=STOPS_WITHIN_S)


def test_the_cancel_event_stops_the_audio_mid_way(long_plan: RenderPlan, tmp_path: Path) -> None:
    t0 = time.monotonic()
    encode_audio(long_plan, tmp_path / "whole.m4a")
    whole = time.monotonic() - t0
    cancel = threading.Event()
    threading.Timer(whole / 4, cancel.set).start()
    t0 = time.monotonic()
    with pytest.raises(RenderCancelled):
        encode_audio(long_plan, tmp_path / "cut.m4a", cancel)
    assert time.monotonic() - t0 < whole / 4 + 0.5


def test_a_cancel_before_the_first_frame_stops_at_once(long_plan: RenderPlan, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    t0 = time.monotonic()
    with pytest.raises(RenderCancelled):
        render(long_plan, tmp_path / "reel.mp4", cancel=cancel)
    assert time.monotonic() - t0 < STOPS_WITHIN_S
    assert list(tmp_path.iterdir()) == []
