"""`reels make` and a workflow's three stages run the same reel pipeline: from the same inputs they write the same
script, speak the same narration, plan the same render and publish the same sidecars, hook variations included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.artifacts import ArtifactStore
from actors.jobs import Job
from actors.registry import RuntimeConfig, StageContext
from actors.tasks import ContentParams, SpeechParams, VideoParams, generate_content, generate_speech, generate_video
from pipeline.plan import RenderPlan
from pipeline.providers import ProviderConfig, make_engine, make_writer
from pipeline.reel import make_reel
from tests.conftest import requires_espeak
from tests.media import ffprobe, stream
from tests.openai_stub import OpenAIStub

SCRIPT = {
    "title": "Why Octopuses Have Three Hearts",
    "hook": "An octopus runs on three hearts.",
    "beats": ["Two pump blood through the gills.", "The third feeds the body."],
    "call_to_action": "Follow for more ocean facts.",
    "description": "Three hearts, one octopus.",
    "hashtags": ["octopus", "ocean"],
}
HOOKS = {"hooks": ["Three hearts, one squishy body.", "Your heart is outnumbered.", "Meet the triple-hearted."]}
PARAMS: dict[str, Any] = {
    "topic": "octopus hearts",
    "platform": "shorts",
    "target_seconds": 12.0,
    "rate": 1.2,
    "size": "180x320",
}


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as s:
        for _ in range(2):  # the CLI's reel, then the workflow's: a script and its hook variations each
            s.reply_json(SCRIPT)
            s.reply_json(HOOKS)
        yield s


def _stage(job: Job, config: RuntimeConfig, tmp: Path, inputs: dict[str, Any], seen: list[float]) -> StageContext:
    work = tmp / "work"
    work.mkdir(exist_ok=True)
    return StageContext(job, lambda f, s: seen.append(f), work, ArtifactStore(tmp / "artifacts"), config, inputs)


def _comparable(plan: RenderPlan) -> dict[str, Any]:
    """The plan with its narration's file path left out (each run keeps its WAV in a folder of its own)."""
    d = plan.to_dict()
    for track in d["audio"]:
        track.pop("path")
    return d


@requires_espeak
def test_the_cli_and_a_workflow_make_the_same_plan_and_sidecars(stub: OpenAIStub, tmp_path: Path) -> None:
    providers = ProviderConfig(openai_base_url=stub.url + "/v1", openai_api_key="test-key")
    video = VideoParams.model_validate(PARAMS)

    cli = make_reel(video.request(), make_writer(providers), make_engine(providers), tmp_path / "cli" / "reel.mp4")

    config = RuntimeConfig("redis://unused", str(tmp_path / "data"), providers=providers)
    job = Job(Job.new_id(), "u", "workflow", "content", 5, dict(PARAMS))
    seen: list[float] = []
    inputs: dict[str, Any] = {}
    for run, model in ((generate_content, ContentParams), (generate_speech, SpeechParams), (generate_video, None)):
        params = model.model_validate({k: v for k, v in PARAMS.items() if k in model.model_fields}) if model else video
        inputs |= run(params, _stage(job, config, tmp_path, dict(inputs), seen))  # type: ignore[operator]

    flow_plan = RenderPlan.load(inputs["plan"])
    assert _comparable(flow_plan) == _comparable(cli.plan)
    assert flow_plan.audio[0].path != cli.plan.audio[0].path  # the workflow's narration is a stored artifact
    cli_meta = json.loads(cli.metadata.read_text())
    flow_meta = json.loads(Path(inputs["metadata"]).read_text())
    assert flow_meta == cli_meta
    assert flow_meta["hook_variations"] == HOOKS["hooks"]  # the LLM's, in both
    assert flow_meta["script"]["title"] == SCRIPT["title"]
    assert Path(inputs["srt"]).read_text() == cli.srt.read_text()
    assert Path(inputs["vtt"]).read_text() == cli.vtt.read_text()
    assert len(stub.requests_to("/v1/chat/completions")) == 4
    v = stream(ffprobe(Path(inputs["video"])), "video")
    assert (v["width"], v["height"]) == (180, 320)
    assert inputs["duration"] == pytest.approx(cli.duration)
