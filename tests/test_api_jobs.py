"""The API with the real job system (local Ray + Dispatcher): a reel from submission to a downloadable MP4 that
plays, its plan edited and re-rendered."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from serve_app.api.app import create_app
from serve_app.config import ApiConfig
from serve_app.users import UserStore
from tests.conftest import MODULES, requires_espeak
from tests.media import ffprobe
from tests.services import wait_for
from tests.test_limits import MALFORMED

API = "/api/v1"


@pytest.fixture
def http(client: Any, system: dict[str, Any], redis_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    users = UserStore(redis.Redis.from_url(redis_url, decode_responses=True))
    headers = {"Authorization": f"Bearer {users.create('maker')}"}
    with TestClient(create_app(ApiConfig(redis_url, str(system["data"]), task_modules=MODULES))) as c:
        yield c, headers


def system_data(c: TestClient) -> Path:
    return Path(c.app.state.config.data_dir).resolve()  # type: ignore[attr-defined]


def _done(c: TestClient, headers: dict[str, str], task_id: str, timeout: float = 240) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        s: dict[str, Any] = c.get(f"{API}/tasks/status/{task_id}", headers=headers).json()
        return s if s["state"] in ("SUCCESS", "FAILURE", "REVOKED") else None

    status = wait_for(finished, timeout=timeout, interval=0.2)
    assert status["state"] == "SUCCESS", status
    return status


@requires_espeak
def test_workflow_to_a_downloadable_reel_then_an_edited_plan_rerendered(
    http: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    c, headers = http
    body = {"topic": "Why the sky is blue", "priority": 8, "video_settings": {"size": "270x480"}}
    r = c.post(f"{API}/tasks/submit/workflow", json=body, headers=headers)
    assert r.status_code == 202, r.text
    status = _done(c, headers, r.json()["task_id"])
    assert {"video", "srt", "vtt", "metadata", "plan"} <= set(status["files"])
    assert not [v for v in status["result"].values() if isinstance(v, str) and v.startswith("/")]  # no server paths
    video = c.get(status["files"]["video"])  # the signed link: no header needed
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    (tmp_path / "reel.mp4").write_bytes(video.content)
    probe = ffprobe(tmp_path / "reel.mp4")
    stream = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 270, 480)
    assert any(s["codec_type"] == "audio" for s in probe["streams"])
    head = c.get(status["files"]["video"], headers={"Range": "bytes=0-1023"})
    assert head.status_code == 206 and head.content == video.content[:1024]
    assert c.get(status["files"]["srt"]).text.startswith("1\n00:00:")

    plan = c.get(status["files"]["plan"]).json()
    assert str(system_data(c)) not in json.dumps(plan)  # no server paths: media read relative to the data folder
    assert not plan["audio"][0]["path"].startswith("/")
    plan["duration"] = 2.0
    plan["captions"]["style"]["highlight"] = "#00FF00"
    r = c.post(f"{API}/tasks/{status['task_id']}/rerender", json={"plan": plan}, headers=headers)
    assert r.status_code == 202, r.text
    edited = _done(c, headers, r.json()["task_id"])
    (tmp_path / "edited.mp4").write_bytes(c.get(edited["files"]["video"]).content)
    assert abs(float(ffprobe(tmp_path / "edited.mp4")["format"]["duration"]) - 2.0) < 0.1

    for edit, field, limit in MALFORMED[:8]:  # refused whole before anything is queued, naming field and limit
        edited = copy.deepcopy(plan)
        edit(edited)
        r = c.post(f"{API}/tasks/{status['task_id']}/rerender", json={"plan": edited}, headers=headers)
        assert r.status_code == 422 and r.json()["message"].startswith(f"{field}: "), r.text
        assert limit in r.json()["message"], r.text
    for path in ("../../../etc/passwd", plan["audio"][0]["path"] + "/../../outputs"):  # relative, out of bounds
        sneaky = copy.deepcopy(plan)
        sneaky["audio"][0]["path"] = path
        r = c.post(f"{API}/tasks/{status['task_id']}/rerender", json={"plan": sneaky}, headers=headers)
        assert r.status_code == 422 and r.json()["message"].startswith("plan.audio[0].path"), r.text
    plan["audio"][0]["path"] = "/etc/passwd"  # an edited plan may only use the task's own media
    r = c.post(f"{API}/tasks/{status['task_id']}/rerender", json={"plan": plan}, headers=headers)
    assert r.status_code == 422 and r.json()["message"].startswith("plan.audio[0].path"), r.text
    plan["layers"] = "nope"
    r = c.post(f"{API}/tasks/{status['task_id']}/rerender", json={"plan": plan}, headers=headers)
    assert r.status_code == 422 and r.json()["message"].startswith("plan.layers"), r.text
