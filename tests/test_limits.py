# ruff: noqa: E501  (the tables below read one case per line)
"""One set of limits (pipeline/limits.py) on every entry point: submits, batch items, projects, re-render plans and
the CLI refuse what is over a limit with 422 (or a CLI message) naming the field and the limit, accept what is at
the limit, and a plan that passes validation renders."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline import limits
from pipeline.captions import WordTiming
from pipeline.errors import InvalidInputError
from pipeline.plan import RenderPlan
from pipeline.planner import build_plan
from pipeline.platforms import PRESETS, get_preset
from pipeline.render import render
from tests.media import ffprobe, make_tone
from tests.test_api import API, Api, api  # noqa: F401  (api: the fixture)

WORDS = [WordTiming(w, 0.1 + i * 0.4, 0.45 + i * 0.4) for i, w in enumerate("one two three four".split())]


def _plan_dict() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        build_plan(get_preset("tiktok").at_size(180, 320), "/x/n.wav", WORDS, 2.0).to_json()
    )
    return data


def test_the_platform_presets_are_within_the_limits() -> None:
    for p in PRESETS.values():
        limits.check_size(p.name, p.width, p.height)
        limits.FPS.check(p.name, p.fps)
        limits.VIDEO_KBPS.check(p.name, p.max_video_kbps)
        limits.AUDIO_KBPS.check(p.name, p.audio_kbps)
        limits.PLAN_SECONDS.check(p.name, p.max_duration_s)


def test_effect_limits_name_every_parameter_of_every_effect() -> None:
    from pipeline.effects import REGISTRY

    assert set(limits.EFFECT_PARAMS) == set(REGISTRY)
    for name, cls in REGISTRY.items():
        assert set(limits.EFFECT_PARAMS[name]) == {f.name for f in dataclasses.fields(cls)}, name


Edit = Callable[[dict[str, Any]], object]
MALFORMED: list[tuple[Edit, str, str]] = [
    # What the probe found reaching the workers: each failed there or "succeeded" with nonsense.
    (lambda d: d["output"].update(sample_rate=7), "plan.output.sample_rate", "48000"),
    (lambda d: d["output"].update(crf=-5), "plan.output.crf", "0–51"),
    (lambda d: d["captions"]["pages"][0]["lines"].append([0, 9]), "plan.captions.pages[0].lines[2]", "4 words"),
    (lambda d: d["captions"]["style"].update(size=0), "plan.captions.style.size", "0.02–0.25"),
    (lambda d: d["captions"]["style"].update(max_lines=0), "plan.captions.style.max_lines", "1–6"),
    # Sizes and rates.
    (lambda d: d["output"].update(width=9998, height=9998), "plan.output", "16–3840"),
    (lambda d: d["output"].update(width=3840, height=3840), "plan.output", "pixels"),
    (lambda d: d["output"].update(fps=240), "plan.output.fps", "1–60"),
    (lambda d: d["output"].update(max_kbps=10**9), "plan.output.max_kbps", "200–60000"),
    (lambda d: d["output"].update(audio_kbps=1), "plan.output.audio_kbps", "32–512"),
    (lambda d: d["output"].update(preset="placebo"), "plan.output.preset", "veryfast"),
    (lambda d: d["output"].update(loudness_lufs=20.0), "plan.output.loudness_lufs", "LUFS"),
    (lambda d: d["output"].update(true_peak_db=3.0), "plan.output.true_peak_db", "dB"),
    (lambda d: d["output"]["safe_zone"].update(top=0.9), "plan.output.safe_zone.top", "0–0.45"),
    (lambda d: d.update(duration=5000.0), "plan.duration", "600 s"),
    (lambda d: d.update(duration=float("nan")), "plan.duration", "outside"),
    # The timeline's cross-references.
    (lambda d: d["layers"][0].update(start=3.0, end=4.0), "plan.layers[0].start", "is outside 0–"),
    (lambda d: d["layers"][0].update(end=-1.0), "plan.layers[0].end", "does not come after"),
    (lambda d: d["layers"][0].update(fade_in=99.0), "plan.layers[0].fade_in", "0–10 s"),
    (lambda d: d["layers"][0].update(seed=-1), "plan.layers[0].seed", "outside"),
    (lambda d: d["layers"][0]["effects"].append({"name": "melt", "params": {}}), "plan.layers[0].effects[1].name", "vignette"),
    (lambda d: d["layers"][0]["effects"][0]["params"].update(strength=50.0), "plan.layers[0].effects[0].params.strength", "0–1"),
    (lambda d: d["layers"][0]["effects"][0]["params"].update(melt=1.0), "plan.layers[0].effects[0].params", "strength"),
    (lambda d: d.update(layers=d["layers"] * 201), "plan.layers", "1–200"),
    # Captions.
    (lambda d: d["captions"]["style"].update(color="red"), "plan.captions.style.color", "#RRGGBB"),
    (lambda d: d["captions"]["style"].update(max_chars_per_line=1000), "plan.captions.style.max_chars_per_line", "4–60"),
    (lambda d: d["captions"]["style"].update(y=2.0), "plan.captions.style.y", "0.05–0.95"),
    (lambda d: d["captions"]["pages"][0].update(words=[]), "plan.captions.pages[0].words", "1–60"),
    (lambda d: d["captions"]["pages"][0]["words"][0].update(start=-3.0), "plan.captions.pages[0].words[0].start", "outside"),
    (lambda d: d["captions"]["pages"][0]["words"][0].update(end=0.0), "plan.captions.pages[0].words[0].end", "outside"),
    (lambda d: d["captions"]["pages"][0]["words"][0].update(word="a\x00b"), "plan.captions.pages[0].words[0].word", "control"),
    # Audio.
    (lambda d: d["audio"][0].update(gain_db=90.0), "plan.audio[0].gain_db", "-60–24 dB"),
    (lambda d: d.update(audio=d["audio"] + [{**d["audio"][0], "role": "music"}] * 2), "plan.audio", "one music"),
    (lambda d: d["audio"][0].update(path=""), "plan.audio[0].path", "path"),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "field", "limit"), MALFORMED, ids=[m[1] + ":" + m[2] for m in MALFORMED])
def test_a_malformed_plan_is_refused_whole_naming_the_field_and_the_limit(edit: Edit, field: str, limit: str) -> None:
    data = _plan_dict()
    edit(data)
    with pytest.raises(InvalidInputError) as e:
        RenderPlan.from_json(json.dumps(data))
    assert (e.value.field, limit in e.value.reason) == (field, True), (e.value.field, e.value.reason)


def test_a_plan_at_the_limits_edges_renders(tmp_path: Path) -> None:
    narration = make_tone(tmp_path / "n.wav", seconds=1.0, freq=300)
    plan = build_plan(get_preset("tiktok").at_size(16, 32), narration, WORDS[:2], 1.0)
    out = dataclasses.replace(plan.output, crf=51, preset="ultrafast", sample_rate=16_000, fps=60, audio_kbps=32)
    style = dataclasses.replace(plan.captions.style, size=0.02, max_lines=1, max_chars_per_line=4, stroke=0.0)
    plan = dataclasses.replace(plan, output=out, captions=dataclasses.replace(plan.captions, style=style))
    plan = RenderPlan.from_json(plan.to_json())  # passes validation
    info = ffprobe(render(plan, tmp_path / "edge.mp4"))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["width"], video["height"], video["avg_frame_rate"], audio["sample_rate"]) == (16, 32, "60/1", "16000")
    assert abs(float(info["format"]["duration"]) - plan.duration) < 0.1


OVER = "9998x9998"


def test_every_submit_route_refuses_a_size_over_the_limit_naming_the_field(api: Api) -> None:  # noqa: F811
    cases = [
        ("submit/workflow", {"topic": "x", "video_settings": {"size": OVER}}, "video_settings.size"),
        ("submit/video", {"topic": "x", "video_settings": {"size": OVER}}, "video_settings.size"),
        ("submit/video", {"topic": "x", "video_settings": {"size": "2162x3840"}}, "video_settings.size"),
        ("submit/batch", {"task_type": "video", "items": [{"topic": "a"}, {"topic": "b", "settings": {"size": OVER}}]}, "items.1.settings.size"),
        ("submit/workflow", {"topic": "x", "video_settings": {"target_seconds": 601}}, "video_settings.target_seconds"),
        ("submit/content", {"topic": "x", "target_seconds": 2.9}, "target_seconds"),
        ("submit/video", {"topic": "x", "video_settings": {"rate": 2.01}}, "video_settings.rate"),
        ("submit/content", {"topic": "x" * (limits.TOPIC_CHARS + 1)}, "topic"),
        ("submit/content", {"topic": "a\x00b"}, "topic"),
        ("submit/workflow", {"topic": "x", "video_settings": {"tone": "calm\x00"}}, "video_settings.tone"),
    ]  # fmt: skip
    for route, body, field in cases:
        r = api.call("POST", f"{API}/tasks/{route}", "alice", body)
        assert r.status_code == 422 and r.json()["message"].startswith(f"{field}: "), (route, body, r.text)
    msg = api.call("POST", f"{API}/tasks/submit/workflow", "alice", cases[0][1]).json()["message"]
    assert msg == "video_settings.size: width 9998 px is outside 16–3840 px"
    style = {"topic": "x", "style": {"target_seconds": 9999}}
    r = api.call("POST", f"{API}/projects", "alice", style)
    assert r.status_code == 422 and r.json()["message"].startswith("style.target_seconds"), r.text
    # At the limits: accepted and queued.
    at = {"size": "2160x3840", "target_seconds": 600, "rate": 0.5}
    r = api.call("POST", f"{API}/tasks/submit/workflow", "alice", {"topic": "x", "video_settings": at})
    assert r.status_code == 202, r.text


def test_video_settings_platform_voice_and_audience_are_applied(api: Api) -> None:  # noqa: F811
    from actors.job_store import JobStore

    chosen = {"platform": "shorts", "voice_id": "en-gb", "target_audience": "gardeners"}
    for route in ("submit/video", "submit/workflow"):
        r = api.call("POST", f"{API}/tasks/{route}", "alice", {"topic": "x", "video_settings": chosen})
        job = JobStore(api.redis_url).get(r.json()["task_id"])
        assert job is not None
        flat = json.dumps(job.params)
        assert '"shorts"' in flat and '"en-gb"' in flat and '"gardeners"' in flat, (route, job.params)
    top = {"topic": "x", "platform": "reels", "video_settings": chosen}  # the seed's top-level field wins
    r = api.call("POST", f"{API}/tasks/submit/video", "alice", top)
    job = JobStore(api.redis_url).get(r.json()["task_id"])
    assert job is not None and '"reels"' in json.dumps(job.params) and '"shorts"' not in json.dumps(job.params)


def test_the_top_priorities_are_for_admins(api: Api) -> None:  # noqa: F811
    for route, body in [
        ("submit/content", {"topic": "x", "priority": 9}),
        ("submit/workflow", {"topic": "x", "priority": 10}),
        ("submit/batch", {"task_type": "content", "items": [{"topic": "a"}], "priority": 10}),
    ]:
        r = api.call("POST", f"{API}/tasks/{route}", "alice", body)
        assert r.status_code == 422 and r.json()["message"].startswith("priority: "), r.text
        assert "the highest a user may use" in r.json()["message"]
        assert api.call("POST", f"{API}/tasks/{route}", "root", body).status_code == 202
    assert api.call("POST", f"{API}/tasks/submit/content", "alice", {"topic": "x", "priority": 8}).status_code == 202


def test_one_user_cannot_queue_more_than_their_quota(api: Api) -> None:  # noqa: F811
    # 20 ten-minute reels: 200 minutes of rendering, over the default 120; nothing of the batch is queued.
    big = {"task_type": "video", "items": [{"topic": f"t{i}", "settings": {"target_seconds": 600}} for i in range(20)]}
    r = api.call("POST", f"{API}/tasks/submit/batch", "alice", big)
    assert r.status_code == 429 and r.json()["limit"] == "max_render_minutes", r.text
    assert "max_render_minutes: " in r.json()["detail"] and "at most 120 min" in r.json()["detail"]
    assert api.call("GET", f"{API}/tasks", "alice").json()["tasks"] == []
    # An admin lowers alice's queue cap; only an admin may; bob keeps the default.
    r = api.call("PUT", f"{API}/tasks/admin/users/alice/limits?max_queued=1", "root")
    assert r.status_code == 200 and r.json()["max_queued"] == 1, r.text
    assert api.call("PUT", f"{API}/tasks/admin/users/alice/limits?max_queued=9", "alice").status_code == 403
    two = {"task_type": "content", "items": [{"topic": "a"}, {"topic": "b"}]}
    r = api.call("POST", f"{API}/tasks/submit/batch", "alice", two)
    assert r.status_code == 429 and r.json()["limit"] == "max_queued" and "at most 1" in r.json()["detail"], r.text
    assert api.call("POST", f"{API}/tasks/submit/batch", "bob", two).status_code == 202
    r = api.call("PUT", f"{API}/tasks/admin/users/bob/limits?max_running=3", "root")
    assert r.status_code == 200 and r.json()["max_running"] == 3, r.text
    held = api.call("GET", f"{API}/tasks/admin/users/bob/limits", "root").json()
    # bob's two jobs: unfinished until the Dispatcher runs them, never more, and none held under a cap of 3
    assert held["max_running"] == 3 and held["unfinished"] <= 2 and held["running"] <= 2 and held["held"] == 0, held
    assert api.call("PUT", f"{API}/tasks/admin/users/alice/limits?reset=true", "root").json()["max_queued"] == 1000
    for bad in ("max_queued=0", "max_queued=x", "max_render_minutes=-1", "max_running=0"):
        r = api.call("PUT", f"{API}/tasks/admin/users/alice/limits?{bad}", "root")
        assert r.status_code == 422 and bad.split("=")[0] in r.json()["message"], (bad, r.text)
    assert api.call("PUT", f"{API}/tasks/admin/users/nobody/limits?max_queued=5", "root").status_code == 404


def test_a_quota_is_reserved_atomically_and_freed_when_a_job_ends(redis_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from actors.job_store import JobStore
    from actors.jobs import Job, State
    from actors.quota import Quota, QuotaExceeded

    store = JobStore(redis_url, "unit:")  # a prefix no Dispatcher claims from: the jobs stay where they are put
    quota = Quota(max_queued=5, max_render_minutes=60, max_running=5)

    def submit(i: int, owner: str = "u") -> bool:
        job = Job(Job.new_id(), owner, "generate_content", "content", 5, {"topic": f"x{i}"})
        try:
            store.enqueue([job], [0.0], quota)
        except QuotaExceeded:
            return False
        return True

    with ThreadPoolExecutor(16) as pool:  # a burst: exactly the cap gets in
        assert sum(pool.map(submit, range(40))) == 5
    queued = store.owner_jobs("u")
    assert len(queued) == 5 and store.usage("u")["unfinished"] == 5
    assert store.cancel(queued[0]) == State.REVOKED.value  # one ends: its room is free again
    assert submit(99) and not submit(100)
    token = "t"
    claimed = store.claim("content", token)
    assert claimed is not None
    store.finish(claimed, token, State.SUCCESS, stat="completed")  # a job that ran to its end frees its room too
    assert submit(101) and not submit(102)
    assert store.usage("u")["unfinished"] == 5
    with pytest.raises(QuotaExceeded, match="max_render_minutes"):
        two = [Job(Job.new_id(), "v", "render_video", "video", 5, {}) for _ in range(2)]
        store.enqueue(two, [40 * 60.0, 30 * 60.0], quota)
    assert store.owner_jobs("v") == [] and store.pending_count("video") == 0  # all or nothing
