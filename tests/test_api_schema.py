"""The app's own OpenAPI document: every answer has a named shape, and (schemathesis) whatever a client sends that
the spec allows, or nearly allows, the answer is never a 5xx."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import redis
import schemathesis
from hypothesis import HealthCheck, given, settings

from serve_app.api.app import create_app
from serve_app.config import ApiConfig
from serve_app.users import UserStore


def test_no_operation_answers_5xx(redis_url: str, tmp_path: Path) -> None:
    # schemathesis' pytest plugin does not load under pytest 9 here, so the operations are driven with Hypothesis.
    token = UserStore(redis.Redis.from_url(redis_url, decode_responses=True)).create("fuzz", "admin")
    app = create_app(ApiConfig(redis_url, str(tmp_path), submit_per_minute=10**6))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # The event stream never ends by design (tested in test_serve.py); everything else is fuzzed.
    operations = [op for op in (r.ok() for r in schema.get_all_operations()) if op.path != "/api/v1/events"]
    assert len(operations) >= 25
    failures: list[str] = []
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            if response.status_code >= 500 and not (case.path == "/ready" and response.status_code == 503):
                failures.append(f"{case.method} {case.formatted_path} {case.body!r}: {response.text[:300]}")

        check()
    assert not failures, "\n".join(failures[:10])


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _answer(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The schema of the operation's success answer, its references followed."""
    responses = doc["paths"][path][method]["responses"]
    ok = next(responses[c] for c in ("200", "201", "202") if c in responses)
    return _resolve(doc, ok["content"]["application/json"]["schema"])


def _properties(doc: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    return set(_resolve(doc, schema).get("properties", {}))


def _openapi(tmp_path: Path) -> dict[str, Any]:
    app = create_app(ApiConfig("redis://127.0.0.1:1", str(tmp_path)))  # the document needs no Redis
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. FastAPI's "Duplicate Operation ID"
        return app.openapi()


def test_the_main_answers_have_named_fields_in_the_openapi_document(tmp_path: Path) -> None:
    doc = _openapi(tmp_path)
    status = _answer(doc, "get", "/api/v1/tasks/status/{task_id}")
    assert {"task_id", "state", "progress", "status", "stage", "execution_time", "result", "error", "files"} <= set(
        status["properties"]
    )
    assert status["properties"]["stage_attempts"]["description"]
    queues = _answer(doc, "get", "/api/v1/tasks/stats/queues")
    assert {"queues", "dispatcher"} <= set(queues["properties"])
    per_queue = queues["properties"]["queues"]["additionalProperties"]
    assert {"pending", "active", "completed", "failed", "slots", "health"} <= _properties(doc, per_queue)
    performance = _answer(doc, "get", "/api/v1/tasks/stats/performance")
    assert {"window_s", "finished", "throughput_per_minute", "success_rate", "task_types"} <= set(
        performance["properties"]
    )
    per_type = performance["properties"]["task_types"]["additionalProperties"]
    assert {"succeeded", "failed", "p50_s", "p95_s"} <= _properties(doc, per_type)
    dead = _answer(doc, "get", "/api/v1/tasks/admin/dlq")
    assert {"task_id", "owner", "task_type", "attempts", "error", "finished"} <= _properties(
        doc, dead["properties"]["dead"]["items"]
    )
    limits = _answer(doc, "get", "/api/v1/tasks/admin/users/{user_id}/limits")
    assert {"max_queued", "max_render_minutes", "max_running", "unfinished", "running", "held"} <= set(
        limits["properties"]
    )
    batch = _answer(doc, "get", "/api/v1/tasks/batch/{batch_id}")
    assert {"batch_id", "total", "states", "progress", "done", "task_ids"} <= set(batch["properties"])


def test_every_json_answer_is_a_named_shape_and_every_operation_has_its_own_id(tmp_path: Path) -> None:
    doc = _openapi(tmp_path)
    untyped, ids = [], []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            ids.append(op["operationId"])
            for code, answer in op["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if not code.startswith("2") or schema is None:
                    continue
                shape = _resolve(doc, schema)
                within = shape.get("items") or shape.get("additionalProperties")  # a list or a map of a shape
                inner = _resolve(doc, within) if isinstance(within, dict) else shape
                if not inner.get("properties"):
                    untyped.append(f"{method.upper()} {path} {code}")
    assert untyped == []
    assert len(ids) == len(set(ids))
