"""schemathesis against the app's own OpenAPI spec: whatever a client sends that the spec allows, or nearly allows,
the answer is never a 5xx."""

from __future__ import annotations

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
