"""The GPU actor pool, run on CPU (device="cpu"): a long-lived actor composes a 4K-preset plan and encodes its
segments at once; progress streams back; the output matches a plain render."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray

from actors.dispatcher import NAMESPACE
from actors.gpu_pool import POOL_PREFIX, GpuPool, renderer
from pipeline.captions import WordTiming
from pipeline.planner import build_plan
from pipeline.platforms import get_preset
from pipeline.render import render
from tests.conftest import requires_espeak
from tests.media import ffprobe, frames_rgb, make_tone, stream
from tests.services import wait_for

WORDS = [WordTiming(w, 0.1 + i * 0.4, 0.45 + i * 0.4) for i, w in enumerate(["one", "two", "three", "four"])]


def test_pool_renders_segments_in_parallel_and_streams_progress(
    ray_local: None, tmp_path: Path, landscape_clip: Path
) -> None:
    narration = make_tone(tmp_path / "n.wav", seconds=2.0)
    preset = get_preset("4k")
    plan = build_plan(
        preset.at_size(preset.width // 12, preset.height // 12), narration, WORDS, 2.0, str(landscape_clip)
    )
    seen: list[tuple[float, str]] = []
    out = tmp_path / "pool.mp4"
    render(plan, out, GpuPool("job-1", "cpu", 3), progress=lambda f, s: seen.append((f, s)))
    v = stream(ffprobe(out), "video")
    assert (v["codec_name"], v["width"], v["height"]) == ("h264", 180, 320)
    assert int(v["nb_read_frames"]) == plan.frame_count
    assert stream(ffprobe(out), "audio")["codec_name"] == "aac"
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[-1] == (pytest.approx(1.0), "done")
    assert len(seen) >= 2
    single = render(plan, tmp_path / "single.mp4")
    picks = [0, plan.frame_count // 2, plan.frame_count - 1]
    a, b = frames_rgb(single, picks), frames_rgb(out, picks)
    for i in picks:
        assert np.abs(a[i].astype(int) - b[i].astype(int)).mean() < 3.0
    # The actor stays up between jobs (warm) and counts what it rendered.
    actor: Any = ray.get_actor(f"{POOL_PREFIX}cpu-0", namespace=NAMESPACE)
    render(plan, tmp_path / "again.mp4", GpuPool("", "cpu", 2))
    state = ray.get(actor.ping.remote())
    assert state["device"] == "cpu" and state["rendered"] >= 2


def test_pool_errors_reach_the_caller(ray_local: None, tmp_path: Path, landscape_clip: Path) -> None:
    narration = make_tone(tmp_path / "n.wav", seconds=1.0)
    footage = tmp_path / "footage.mp4"
    footage.write_bytes(landscape_clip.read_bytes())
    plan = build_plan(get_preset("reels").at_size(90, 160), narration, WORDS[:2], 1.0, str(footage))
    footage.unlink()  # the background footage is gone by the time the pool's actor composes
    with pytest.raises(Exception, match=r"footage\.mp4"):
        render(plan, tmp_path / "x.mp4", GpuPool("", "cpu", 2))
    assert not (tmp_path / "x.mp4").exists()


@requires_espeak
def test_ultra_quality_stage_renders_through_the_pool(ray_local: None, tmp_path: Path) -> None:
    from actors.artifacts import ArtifactStore
    from actors.jobs import Job
    from actors.registry import RuntimeConfig, StageContext
    from actors.tasks import VideoParams, process_ultra_quality_video

    config = RuntimeConfig("redis://unused", str(tmp_path), allow_gpu_on_cpu=True, gpu_segments=2)
    job = Job(Job.new_id(), "u", "process_ultra_quality_video", "gpu", 5, {})
    seen: list[float] = []
    ctx = StageContext(job, lambda f, s: seen.append(f), tmp_path / "work", ArtifactStore(tmp_path / "a"), config)
    result = process_ultra_quality_video(VideoParams(topic="Stars", target_seconds=5, size="180x320"), ctx)
    v = stream(ffprobe(Path(result["video"])), "video")
    assert (v["width"], v["height"]) == (180, 320) and Path(result["srt"]).exists()
    assert seen == sorted(seen) and any(0.1 < f < 0.95 for f in seen)  # the pool's progress came through
    assert ray.get(ray.get_actor(f"{POOL_PREFIX}cpu-0", namespace=NAMESPACE).ping.remote())["rendered"] >= 1


def test_a_cancelled_caller_stops_the_pool_render_within_two_seconds(
    ray_local: None, tmp_path: Path, landscape_clip: Path
) -> None:
    """The stage is a Ray task that ray.cancel interrupts; the actor's render, a sync method, must be told."""
    narration = make_tone(tmp_path / "n.wav", seconds=20.0)
    words = [WordTiming(f"w{i}", 0.1 + i * 0.5, 0.5 + i * 0.5) for i in range(39)]
    plan = build_plan(get_preset("4k").at_size(540, 960), narration, words, 20.0, str(landscape_clip))
    marks = tmp_path / "progress"

    @ray.remote(num_cpus=0)
    def stage(out: str) -> None:
        def report(f: float, s: str) -> None:
            marks.write_text(f"{f}")

        render(plan, out, GpuPool("", "cpu", 2), progress=report)

    actor = renderer(0, "cpu", 0.0)  # the one GpuPool picks on CPU
    out = tmp_path / "cancelled.mp4"
    ref = stage.remote(str(out))
    wait_for(lambda: marks.exists() and float(marks.read_text() or 0) > 0.1, timeout=60)
    t0 = time.monotonic()
    ray.cancel(ref)
    wait_for(lambda: ray.get(actor.ping.remote())["rendering"] == 0, timeout=10)
    assert time.monotonic() - t0 < 2.0
    assert float(marks.read_text()) < 0.9 and not out.exists()
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref)
