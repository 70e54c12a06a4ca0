"""Segment-parallel rendering on Ray: frame ranges as parallel tasks, bytes through the object store, joined."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

from actors.segments import RayTasks
from pipeline.captions import WordTiming
from pipeline.errors import RenderCancelled
from pipeline.planner import build_plan
from pipeline.platforms import get_preset
from pipeline.render import render
from tests.media import ffprobe, frames_rgb, make_tone, stream

WORDS = [WordTiming(w, 0.1 + i * 0.4, 0.45 + i * 0.4) for i, w in enumerate(["one", "two", "three", "four"])]


def test_parallel_segments_match_a_single_render(ray_local: None, tmp_path: Path, landscape_clip: Path) -> None:
    narration = make_tone(tmp_path / "n.wav", seconds=2.0)
    plan = build_plan(get_preset("reels").at_size(180, 320), narration, WORDS, 2.0, str(landscape_clip))
    seen: list[float] = []
    parallel = tmp_path / "parallel.mp4"
    render(plan, parallel, RayTasks(segments=4), progress=lambda f, s: seen.append(f))
    single = render(plan, tmp_path / "single.mp4")
    v = stream(ffprobe(parallel), "video")
    assert int(v["nb_read_frames"]) == plan.frame_count
    assert stream(ffprobe(parallel), "audio")["duration"] == stream(ffprobe(single), "audio")["duration"]
    with av.open(str(parallel)) as c:
        keys = [i for i, f in enumerate(c.decode(video=0)) if f.key_frame]
    assert len(keys) >= 4  # one per segment at least
    picks = [0, plan.frame_count // 2, plan.frame_count - 1]
    a, b = frames_rgb(single, picks), frames_rgb(parallel, picks)
    for i in picks:
        assert np.abs(a[i].astype(int) - b[i].astype(int)).mean() < 3.0
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_a_cancelled_ray_render_stops_its_tasks_and_leaves_no_file(
    ray_local: None, tmp_path: Path, landscape_clip: Path
) -> None:
    narration = make_tone(tmp_path / "n.wav", seconds=12.0)
    words = [WordTiming(f"w{i}", 0.1 + i * 0.5, 0.5 + i * 0.5) for i in range(23)]
    plan = build_plan(get_preset("reels").at_size(360, 640), narration, words, 12.0, str(landscape_clip))
    cancel = threading.Event()
    out = tmp_path / "out" / "reel.mp4"
    with pytest.raises(RenderCancelled):
        render(plan, out, RayTasks(segments=6), progress=lambda f, s: cancel.set(), cancel=cancel)
    assert not out.exists() and list(out.parent.iterdir()) == []
