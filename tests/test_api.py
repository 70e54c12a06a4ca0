"""The HTTP API as a plain FastAPI app on a real Redis (no Ray): auth, ownership, projects, bad input, limits, live
progress over WebSocket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from actors.job_store import JobStore
from actors.jobs import State
from serve_app.api.app import create_app
from serve_app.config import ApiConfig
from serve_app.users import UserStore

API = "/api/v1"


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]
    redis_url: str
    data: Path

    def auth(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    def call(self, method: str, path: str, who: str | None, body: Any = None, **kw: Any) -> Any:
        return self.client.request(method, path, headers=self.auth(who), json=body, **kw)


@pytest.fixture
def api(redis_url: str, tmp_path: Path) -> Iterator[Api]:
    config = ApiConfig(redis_url, str(tmp_path), submit_per_minute=40, max_body_bytes=4096, ws_auth_timeout_s=2)
    users = UserStore(redis.Redis.from_url(redis_url, decode_responses=True))
    tokens = {"alice": users.create("alice"), "bob": users.create("bob"), "root": users.create("root", "admin")}
    with TestClient(create_app(config)) as client:
        yield Api(client, tokens, redis_url, tmp_path)


def _submit(api: Api, who: str = "alice", **body: Any) -> dict[str, Any]:
    r = api.call("POST", f"{API}/tasks/submit/content", who, {"topic": "AI Technology", **body})
    assert r.status_code == 202, r.text
    return dict(r.json())


def _finish(api: Api, task_id: str, result: dict[str, Any]) -> None:
    """Play the Dispatcher's part: claim the job and record a result (files inside the data folder)."""
    store = JobStore(api.redis_url)
    job = store.get(task_id)
    assert job is not None
    assert store.claim(job.queue, "t") == task_id
    assert store.finish(task_id, "t", State.SUCCESS, {"result": result, "progress": "100", "status": "done"})


def test_seed_content_submission_is_queued_for_its_owner(api: Api) -> None:
    body = {"project_id": 1, "topic": "AI Technology", "target_audience": "tech enthusiasts", "priority": 7}
    r = api.call("POST", f"{API}/tasks/submit/content", "alice", body)
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["state"] == "PENDING" and out["queue"] == "content" and out["priority"] == 7
    job = JobStore(api.redis_url).get(out["task_id"])
    assert job is not None and job.owner == "alice" and job.params["target_audience"] == "tech enthusiasts"
    status = api.call("GET", out["status_url"], "alice").json()
    assert {"task_id", "state", "progress", "status", "execution_time"} <= status.keys()
    assert status["project_id"] == 1 and status["progress"] == 0


def test_every_route_needs_a_token_and_admin_routes_an_admin(api: Api) -> None:
    task = _submit(api)["task_id"]
    project = api.call("POST", f"{API}/projects", "alice", {"topic": "Volcanoes"}).json()["id"]
    owned = [
        ("GET", f"{API}/tasks/status/{task}", None),
        ("POST", f"{API}/tasks/cancel/{task}", None),
        ("GET", f"{API}/tasks/{task}/files/video", None),
        ("POST", f"{API}/tasks/{task}/rerender", {"plan": {}}),
        ("GET", f"{API}/projects/{project}", None),
        ("PUT", f"{API}/projects/{project}", {"name": "x"}),
        ("DELETE", f"{API}/projects/{project}", None),
    ]
    mine = [
        ("POST", f"{API}/tasks/submit/content", {"topic": "x"}),
        ("POST", f"{API}/tasks/submit/video", {"topic": "x"}),
        ("POST", f"{API}/tasks/submit/workflow", {"topic": "x"}),
        ("POST", f"{API}/tasks/submit/batch", {"task_type": "content", "items": [{"topic": "x"}]}),
        ("GET", f"{API}/tasks", None),
        ("GET", f"{API}/tasks/stats/queues", None),
        ("GET", f"{API}/tasks/stats/performance", None),
        ("GET", f"{API}/projects", None),
        ("POST", f"{API}/projects", {"topic": "x"}),
        ("GET", f"{API}/voices", None),
        ("GET", f"{API}/platforms", None),
    ]
    admin = [
        ("POST", f"{API}/tasks/admin/cleanup", None),
        ("POST", f"{API}/tasks/admin/requeue?max_age_hours=24", None),
        ("POST", f"{API}/tasks/admin/scale?queue_name=video&desired_workers=3", None),
        ("GET", f"{API}/tasks/admin/dlq", None),
        ("GET", f"{API}/tasks/admin/dlq/{task}", None),
        ("POST", f"{API}/tasks/admin/dlq/{task}/requeue", None),
        ("DELETE", f"{API}/tasks/admin/dlq", None),
    ]
    for method, path, body in owned + mine + admin:
        assert api.call(method, path, None, body).status_code == 401, (method, path)
        bad = api.client.request(method, path, headers={"Authorization": "Bearer rg_forged"}, json=body)
        assert bad.status_code == 401, (method, path)
    for method, path, body in owned:  # another user: the same 404 as a task that does not exist
        r = api.call(method, path, "bob", body)
        assert r.status_code == 404, (method, path, r.text)
        missing = path.replace(task, "f" * 32).replace(f"projects/{project}", "projects/999")
        assert api.call(method, missing, "bob", body).json() == r.json()
    for method, path, body in admin:
        assert api.call(method, path, "alice", body).status_code == 403, (method, path)
    for method, path, body in mine:
        assert api.call(method, path, "alice", body).status_code < 300, (method, path)
    for method, path, body in admin:  # the admin passes auth (a task not in the DLQ is a 404)
        r = api.call(method, path, "root", body)
        assert r.status_code in (200, 404), (method, path, r.text)
    assert api.call("GET", f"{API}/tasks/status/{task}", "root").status_code == 200  # admins see every task
    for method, path, body in owned:  # the owner, last (cancel and delete change state)
        r = api.call(method, path, "alice", body)
        assert r.status_code in (200, 204, 404, 409), (method, path, r.text)  # files/rerender: not finished yet
    assert api.client.get("/health").status_code == 200


def test_listing_shows_only_my_tasks_filtered_and_paged(api: Api) -> None:
    mine = [_submit(api, topic=f"t{i}")["task_id"] for i in range(5)]
    _submit(api, "bob")
    api.call("POST", f"{API}/tasks/cancel/{mine[0]}", "alice")
    page = api.call("GET", f"{API}/tasks?limit=3", "alice").json()
    assert [t["task_id"] for t in page["tasks"]] == mine[::-1][:3]
    rest = api.call("GET", f"{API}/tasks?limit=3&offset={page['next_offset']}", "alice").json()
    assert [t["task_id"] for t in rest["tasks"]] == mine[::-1][3:] and rest["next_offset"] is None
    revoked = api.call("GET", f"{API}/tasks?state=REVOKED", "alice").json()["tasks"]
    assert [t["task_id"] for t in revoked] == [mine[0]]


def test_projects_crud_and_submissions_that_use_them(api: Api) -> None:
    body = {"topic": "Deep sea fish", "platform": "shorts", "style": {"tone": "calm", "rate": 1.2}}
    p = api.call("POST", f"{API}/projects", "alice", body)
    assert p.status_code == 201 and p.json()["name"] == "Deep sea fish"
    pid = p.json()["id"]
    changed = api.call("PUT", f"{API}/projects/{pid}", "alice", {"target_audience": "divers"}).json()
    assert changed["platform"] == "shorts" and changed["target_audience"] == "divers"
    r = api.call("POST", f"{API}/tasks/submit/workflow", "alice", {"project_id": pid, "priority": 3})
    assert r.status_code == 202, r.text
    job = JobStore(api.redis_url).get(r.json()["task_id"])
    assert job is not None and job.project == str(pid)
    expected = {"topic": "Deep sea fish", "platform": "shorts", "tone": "calm", "rate": 1.2}
    assert job.params.items() >= expected.items()
    assert job.params["target_audience"] == "divers"
    listing = api.call("GET", f"{API}/projects", "alice").json()
    assert listing["total"] == 1 and api.call("GET", f"{API}/projects", "bob").json()["total"] == 0
    assert api.call("DELETE", f"{API}/projects/{pid}", "alice").status_code == 204
    assert api.call("GET", f"{API}/projects/{pid}", "alice").status_code == 404
    # Without a topic of its own, a submission needs a project of the user: bob's attempt at alice's is a 404.
    assert api.call("POST", f"{API}/tasks/submit/video", "bob", {"project_id": pid}).status_code == 404


def test_the_console_page_cannot_be_framed_and_runs_only_its_own_code(api: Api) -> None:
    r = api.client.get("/console")
    policy = r.headers["content-security-policy"]
    assert r.status_code == 200 and r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in policy and "script-src 'sha256-" in policy and "unsafe" not in policy


def test_bad_input_is_refused_with_the_field_named(api: Api) -> None:
    url = f"{API}/tasks/submit/content"
    headers = {**api.auth("alice"), "Content-Type": "application/json"}
    r = api.client.post(url, headers=headers, content=b'{"topic": "x",')
    assert r.status_code == 422 and "JSON" in r.json()["message"]
    cases = [
        ({"topic": "x", "priority": 11}, "priority"),
        ({"topic": "x", "priority": "high"}, "priority"),
        ({"topic": "x", "colour": "red"}, "colour"),
        ({"topic": ""}, "topic"),
        ({}, "topic"),
        ({"topic": "x", "platform": "myspace"}, "platform"),
    ]
    for body, field in cases:
        r = api.call("POST", url, "alice", body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["message"].startswith(field), (body, r.json())
    r = api.call("POST", f"{API}/tasks/submit/video", "alice", {"topic": "x", "voice_id": "rachel"})
    assert r.status_code == 422 and "voice_id" in r.json()["message"] and "rachel" in r.json()["message"]
    r = api.call("POST", f"{API}/tasks/submit/workflow", "alice", {"topic": "x", "video_settings": {"size": "27x480"}})
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith("video_settings.size: 27x480: width and height must be even"), r.json()
    big = api.client.post(url, headers=headers, content=json.dumps({"topic": "x" * 5000}).encode())
    assert big.status_code == 413 and "4096" in big.json()["detail"]
    assert api.call("GET", f"{API}/tasks/status/{'0' * 32}", "alice").json() == {"detail": "task not found"}
    assert JobStore(api.redis_url).r.zcard("reels:pending:content") == 0  # nothing half-queued


def test_json_without_a_content_type_is_read_as_json(api: Api) -> None:
    """The seed's load test posts with curl -d and no content type."""
    headers = {**api.auth("alice"), "Content-Type": "application/x-www-form-urlencoded"}
    r = api.client.post(f"{API}/tasks/submit/content", headers=headers, content=b'{"project_id": 3, "topic": "Test 3"}')
    assert r.status_code == 202, r.text


def test_submission_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    batch = {"task_type": "content", "items": [{"topic": f"t{i}"} for i in range(35)]}
    assert api.call("POST", f"{API}/tasks/submit/batch", "alice", batch).status_code == 202
    codes = [api.call("POST", f"{API}/tasks/submit/content", "alice", {"topic": "x"}).status_code for _ in range(8)]
    assert codes == [202] * 5 + [429] * 3
    r = api.call("POST", f"{API}/tasks/submit/content", "alice", {"topic": "x"})
    assert 1 <= int(r.headers["Retry-After"]) <= 60 and "40" in r.json()["detail"]
    assert api.call("POST", f"{API}/tasks/submit/content", "bob", {"topic": "x"}).status_code == 202  # per user
    assert len(JobStore(api.redis_url).owner_jobs("alice", 0, 100)) == 40


def test_files_are_served_with_ranges_to_the_owner_and_by_signed_link(api: Api) -> None:
    task = _submit(api)["task_id"]
    video = api.data / "outputs" / task / "reel.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(bytes(range(256)) * 40)
    _finish(api, task, {"video": str(video), "outside": "/etc/passwd", "duration": 2.0})
    status = api.call("GET", f"{API}/tasks/status/{task}", "alice").json()
    assert set(status["files"]) == {"video"} and status["result"] == {"outside": "/etc/passwd", "duration": 2.0}
    link = status["files"]["video"]
    r = api.client.get(link, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == (bytes(range(256)) * 40)[100:200]
    assert r.headers["content-range"] == "bytes 100-199/10240" and r.headers["content-type"] == "video/mp4"
    assert api.client.get(link.replace("sig=", "sig=0")).status_code == 401
    assert api.client.get(link.replace("sig=", "sig=é")).status_code == 422  # found by schemathesis: was a 500
    assert api.call("GET", f"{API}/tasks/{task}/files/video", "alice").content == video.read_bytes()
    head = api.client.head(link)  # players and download managers ask for the size first
    assert head.status_code == 200 and head.headers["content-length"] == "10240" and head.content == b""
    assert api.call("GET", f"{API}/tasks/{task}/files/outside", "alice").status_code == 404  # never outside data
    assert api.call("GET", f"{API}/tasks/{task}/files/video", "bob").status_code == 404


def test_admin_scale_and_dead_letter_queue(api: Api) -> None:
    r = api.call("POST", f"{API}/tasks/admin/scale?queue_name=video&desired_workers=5", "root").json()
    assert r["caps"]["video"] == 5 and "not connected" in r["autoscaler"]
    assert JobStore(api.redis_url).caps()["video"] == 5
    bad = api.call("POST", f"{API}/tasks/admin/scale?queue_name=nope&desired_workers=5", "root")
    assert bad.status_code == 422 and "queue_name" in bad.json()["message"]
    task = _submit(api)["task_id"]
    store = JobStore(api.redis_url)
    store.claim("content", "t")
    error = f"InvalidMediaError: {api.data.resolve()}/uploads/alice/bg.mp4: not a video"  # a server path
    store.finish(task, "t", State.FAILURE, {"error": error}, stat="failed", dead_letter=True)
    shown = "InvalidMediaError: uploads/alice/bg.mp4: not a video"  # relative to the data folder
    dead = api.call("GET", f"{API}/tasks/admin/dlq", "root").json()
    assert dead["total"] == 1 and dead["dead"][0]["error"] == shown and dead["dead"][0]["owner"] == "alice"
    assert api.call("GET", f"{API}/tasks/admin/dlq/{task}", "root").json()["error"] == shown
    assert api.call("GET", f"{API}/tasks/status/{task}", "alice").json()["error"] == shown
    assert api.call("POST", f"{API}/tasks/admin/requeue?max_age_hours=1", "root").json()["count"] == 1
    assert api.call("GET", f"{API}/tasks/status/{task}", "alice").json()["state"] == "PENDING"


def test_websocket_forwards_my_progress_and_refuses_other_channels(api: Api) -> None:
    store = JobStore(api.redis_url)
    with api.client.websocket_connect(f"/ws/alice?token={api.tokens['alice']}") as ws:
        assert ws.receive_json()["type"] == "subscribed"
        store.publish("bob", {"task_id": "b", "progress": 1})
        store.publish("alice", {"task_id": "a", "progress": 65, "status": "processing_video"})
        assert ws.receive_json() == {"task_id": "a", "progress": 65, "status": "processing_video"}
    with api.client.websocket_connect("/ws/alice") as ws:  # the token as the first message
        ws.send_text(json.dumps({"token": api.tokens["alice"]}))
        assert ws.receive_json()["type"] == "subscribed"
    foreign = f"/ws/alice?token={api.tokens['bob']}"
    with pytest.raises(WebSocketDisconnect) as refused, api.client.websocket_connect(foreign) as ws:
        ws.receive_json()
    assert refused.value.code == 1008
    with api.client.websocket_connect("/ws/alice") as ws:
        ws.send_text("rg_wrong")
        assert ws.receive_json()["type"] == "error"
    r = redis.Redis.from_url(api.redis_url)
    assert r.pubsub_numsub("reels:progress:alice") == [(b"reels:progress:alice", 0)]  # nothing left subscribed


def test_a_revoked_key_stops_working_at_once(api: Api) -> None:
    assert api.call("GET", f"{API}/tasks", "bob").status_code == 200
    assert UserStore(redis.Redis.from_url(api.redis_url, decode_responses=True)).revoke("bob") == 1
    r = api.call("GET", f"{API}/tasks", "bob")
    assert r.status_code == 401 and r.json()["detail"] == "invalid or revoked token"
    assert api.call("GET", f"{API}/tasks", "alice").status_code == 200


def test_batch_status_is_the_owners_alone(api: Api) -> None:
    body = {"task_type": "content", "items": [{"topic": "a"}, {"topic": "b", "settings": {"platform": "shorts"}}]}
    batch = api.call("POST", f"{API}/tasks/submit/batch", "alice", body).json()
    status = api.call("GET", batch["status_url"], "alice").json()
    assert status["total"] == 2 and status["task_ids"] == batch["task_ids"] and status["states"] == {"PENDING": 2}
    assert api.call("GET", batch["status_url"], "bob").status_code == 404
    assert api.call("GET", batch["status_url"], "root").status_code == 200
    bad = {"task_type": "content", "items": [{"topic": "a"}, {"project_id": 77}]}
    r = api.call("POST", f"{API}/tasks/submit/batch", "alice", bad)
    assert r.status_code == 404 and r.json()["detail"] == "items[1]: project not found"
