"""How long a failed attempt waits before its retry, and which errors are never retried."""

from __future__ import annotations

import random

import pytest

from actors.decisions import backoff, is_permanent
from pipeline.errors import (
    InvalidInputError,
    InvalidMediaError,
    MissingToolError,
    ProviderError,
    RenderCancelled,
    ScriptTooLongError,
)
from tests.unit.specs import spec


def no_jitter(lo: float, hi: float) -> float:
    return (lo + hi) / 2


def test_the_default_backoff_is_60_120_240_seconds() -> None:
    s = spec()
    assert [backoff(s, n, 1.0, no_jitter) for n in (1, 2, 3)] == pytest.approx([60.0, 120.0, 240.0])


def test_backoff_doubles_from_the_task_s_own_base_and_scales() -> None:
    s = spec(backoff_s=50)
    assert [backoff(s, n, 0.01, no_jitter) for n in (1, 2, 3, 4)] == pytest.approx([0.5, 1.0, 2.0, 4.0])


def test_the_wait_has_no_cap_but_the_retry_budget_bounds_it() -> None:
    """The formula keeps doubling; only max_retries stops it, so a task's longest wait is its last retry's."""
    s = spec(backoff_s=60, max_retries=5)
    longest = backoff(s, s.max_retries, 1.0, lambda lo, hi: hi)
    assert longest == pytest.approx(60 * 2**4 * 1.2)


def test_jitter_stays_within_20_percent_either_side() -> None:
    s = spec(backoff_s=100)
    assert backoff(s, 1, 1.0, lambda lo, hi: lo) == pytest.approx(80.0)
    assert backoff(s, 1, 1.0, lambda lo, hi: hi) == pytest.approx(120.0)
    rng = random.Random(7)
    waits = [backoff(s, 2, 1.0, rng.uniform) for _ in range(2000)]
    assert all(160.0 <= w <= 240.0 for w in waits)
    assert min(waits) < 165.0 and max(waits) > 235.0  # spread over the whole band, so retries do not stampede
    assert len({round(w, 6) for w in waits}) > 1900


@pytest.mark.parametrize(
    "error",
    [
        InvalidInputError("params.size", "must be WxH"),
        InvalidMediaError("/in/clip.mp4", "no video stream"),
        ScriptTooLongError("tiktok", 200.0, 180.0, 500),
        MissingToolError("espeak-ng", "apt install espeak-ng"),
        ProviderError("openai", "auth", "bad key"),
        ValueError("bad value"),
        KeyError("script"),
        TypeError("not a dict"),
    ],
    ids=lambda e: f"{type(e).__name__}:{getattr(e, 'kind', '')}",
)
def test_errors_retrying_cannot_fix_are_permanent(error: BaseException) -> None:
    assert is_permanent(error)


@pytest.mark.parametrize(
    "error",
    [
        ProviderError("openai", "network", "connection reset"),
        ProviderError("openai", "quota", "rate limited"),
        ProviderError("openai", "malformed", "not JSON"),
        ProviderError("openai", "other", "500"),
        RuntimeError("flaky"),
        OSError("disk full"),
        TimeoutError("slow"),
        RenderCancelled(),
        KeyboardInterrupt(),
    ],
    ids=lambda e: f"{type(e).__name__}:{getattr(e, 'kind', '')}",
)
def test_passing_failures_are_retried(error: BaseException) -> None:
    assert not is_permanent(error)
