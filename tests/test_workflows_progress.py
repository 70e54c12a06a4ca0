"""Workflows resume after their last finished stage; progress reaches the owner's Redis channel, throttled."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import redis

from actors.client import JobClient
from actors.jobs import State
from tests.media import ffprobe, stream
from tests.services import wait_for


def listen(url: str, channel: str, events: list[dict[str, Any]], stop: threading.Event) -> threading.Thread:
    ready = threading.Event()

    def run() -> None:
        sub = redis.Redis.from_url(url, decode_responses=True).pubsub()
        sub.subscribe(channel)
        ready.set()
        while not stop.is_set():
            msg = sub.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if msg:
                events.append(json.loads(msg["data"]))
        sub.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait(5)
    return t


def test_workflow_resumes_after_its_last_finished_stage(client: JobClient, system: dict[str, Any]) -> None:
    job = client.submit("u", "t_workflow", {"tag": "w1", "fail_times": 1})
    done = client.wait(job.id, 30)
    assert done.state == State.SUCCESS, done.error
    assert done.result == {"a": "made by stage a for w1", "b": "MADE BY STAGE A FOR W1"}
    conn = redis.Redis.from_url(system["config"].redis_url, decode_responses=True)
    assert conn.get("test:stage_a:w1") == "1"  # stage a ran once although stage b was retried
    assert conn.get("test:stage_b:w1") == "2"


def test_progress_events_reach_the_owner_channel(client: JobClient, system: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    stop = threading.Event()
    thread = listen(system["config"].redis_url, client.store.channel("carol"), events, stop)
    job = client.submit("carol", "t_sleep", {"tag": "p", "seconds": 1.0})
    client.wait(job.id, 30)
    wait_for(lambda: any(e["task_id"] == job.id and e["state"] == "SUCCESS" for e in events))
    stop.set()
    thread.join()
    mine = [e for e in events if e["task_id"] == job.id]
    assert {"task_id", "state", "progress", "status", "stage", "execution_time"} <= set(mine[0])
    states = [e["state"] for e in mine]
    assert states[0] == "STARTED" and states[-1] == "SUCCESS" and "PROGRESS" in states
    progress = [e["progress"] for e in mine if e["state"] == "PROGRESS"]
    assert progress == sorted(progress) and progress[-1] == 100


def test_full_workflow_content_speech_video(client: JobClient, system: dict[str, Any]) -> None:
    """The seed's workflow: content -> speech -> video, each on its queue, progress rolled into one job."""
    events: list[dict[str, Any]] = []
    stop = threading.Event()
    thread = listen(system["config"].redis_url, client.store.channel("dave"), events, stop)
    job = client.submit(
        "dave", "workflow", {"topic": "Why leaves change colour", "target_seconds": 3, "size": "180x320"}, priority=7
    )
    started = time.monotonic()
    done = client.wait(job.id, 240)
    elapsed = time.monotonic() - started
    stop.set()
    thread.join()
    assert done.state == State.SUCCESS, done.error
    v = stream(ffprobe(done.result["video"]), "video")
    assert (v["width"], v["height"], v["codec_name"]) == (180, 320, "h264")
    stages = [e["stage"] for e in events if e["task_id"] == job.id and e["state"] == "PROGRESS"]
    assert stages.index("generate_content") < stages.index("generate_speech") < stages.index("generate_video")
    progress = [e["progress"] for e in events if e["task_id"] == job.id and e["state"] == "PROGRESS"]
    assert progress == sorted(progress)  # one bar that only moves forward across the three stages
    # Throttled (0.1 s in the test config): a render of hundreds of frames does not flood the channel.
    assert len(progress) <= elapsed / 0.1 + 12
