"""What the end of an attempt does to its job: done, on to the next stage, retried, dead-lettered or revoked."""

from __future__ import annotations

from typing import Any

import pytest

from actors.decisions import Advance, AttemptLimits, DeadLetter, Done, Retry, Revoked, failed, succeeded
from actors.registry import TaskSpec
from pipeline.errors import InvalidInputError, ProviderError
from tests.unit.specs import job, spec


def no_jitter(lo: float, hi: float) -> float:
    return (lo + hi) / 2


def attempt(s: TaskSpec | None = None, **sent: Any) -> AttemptLimits:
    """An attempt started at 0 s that was sent `sent` (soft_sent, hard_sent, ...) before it ended."""
    return AttemptLimits(s or spec(), started=0.0, **sent)


CONTENT, SPEECH, VIDEO = spec("t_content", "content"), spec("t_speech", "speech"), spec("t_video", "video")
WORKFLOW = [CONTENT, SPEECH, VIDEO]


# ---- success ----------------------------------------------------------------------------------------------------
def test_a_single_stage_job_is_done_with_its_result() -> None:
    d = succeeded(attempt(), job(), [spec()], {"video": "/out/reel.mp4"})
    assert d == Done({"video": "/out/reel.mp4"}, ("completed",), "done")


def test_a_job_that_needed_a_retry_also_counts_as_a_retry_success() -> None:
    d = succeeded(attempt(), job(stage_attempts=(2,)), [spec()], {})
    assert isinstance(d, Done) and d.stat == ("completed", "retry_success")


def test_a_workflow_stage_moves_the_job_to_the_next_stage_s_queue() -> None:
    earlier = {"script": {"title": "Leaves"}}
    d = succeeded(attempt(SPEECH), job("wf", (1, 1), result=earlier), WORKFLOW, {"narration": "/a.wav"})
    assert isinstance(d, Advance)
    assert d.next_stage is VIDEO and d.next_stage.queue == "video"
    assert d.status == "t_speech done"
    assert d.result == {"script": {"title": "Leaves"}, "narration": "/a.wav"}


def test_the_last_workflow_stage_finishes_with_every_stage_s_result() -> None:
    earlier = {"script": {"title": "Leaves"}, "narration": "/a.wav"}
    d = succeeded(attempt(VIDEO), job("wf", (1, 2, 1), result=earlier), WORKFLOW, {"video": "/r.mp4"})
    assert isinstance(d, Done)
    assert d.result == {**earlier, "video": "/r.mp4"}
    assert d.stat == ("completed", "retry_success")  # the speech stage was retried


def test_a_later_stage_s_result_replaces_an_earlier_value_of_the_same_name() -> None:
    d = succeeded(attempt(VIDEO), job("wf", (1, 1, 1), result={"duration": 1.0}), WORKFLOW, {"duration": 3.2})
    assert d.result == {"duration": 3.2}


# ---- failure ----------------------------------------------------------------------------------------------------
def test_a_passing_failure_is_retried_after_the_backoff() -> None:
    d = failed(attempt(), job(), [spec()], RuntimeError("encoder hiccup"), 1.0, no_jitter)
    assert d == Retry(
        60.0, "retry 1/3 in 60.0 s: RuntimeError: encoder hiccup", "RuntimeError: encoder hiccup", "RuntimeError"
    )


def test_each_retry_waits_twice_as_long() -> None:
    delays = [failed(attempt(), job(stage_attempts=(n,)), [spec()], OSError("x"), 0.01, no_jitter) for n in (1, 2, 3)]
    assert [d.delay for d in delays if isinstance(d, Retry)] == pytest.approx([0.6, 1.2, 2.4])


def test_a_workflow_retry_names_its_stage_and_counts_that_stage_s_attempts() -> None:
    d = failed(attempt(VIDEO), job("wf", (3, 1, 2)), WORKFLOW, RuntimeError("boom"), 1.0, no_jitter)
    assert isinstance(d, Retry)
    assert d.status.startswith("retry t_video 2/3 in 120.0 s: RuntimeError: boom")


def test_the_last_allowed_retry_is_still_a_retry_and_the_next_failure_is_dead() -> None:
    s = spec(max_retries=2)
    last = failed(attempt(s), job(stage_attempts=(2,)), [s], RuntimeError("again"), 1.0, no_jitter)
    assert isinstance(last, Retry) and last.status.startswith("retry 2/2 in")
    dead = failed(attempt(s), job(stage_attempts=(3,)), [s], RuntimeError("again"), 1.0, no_jitter)
    assert dead == DeadLetter("failed after 3 attempts of t_render", "RuntimeError: again", "RuntimeError")


def test_a_permanent_error_is_dead_at_its_first_attempt() -> None:
    d = failed(attempt(), job(), [spec()], InvalidInputError("params.size", "must be WxH"), 1.0, no_jitter)
    assert d == DeadLetter("failed", "InvalidInputError: params.size: must be WxH", "InvalidInputError")


def test_bad_credentials_are_dead_but_a_network_error_is_retried() -> None:
    auth = failed(attempt(), job(), [spec()], ProviderError("openai", "auth", "bad key"), 1.0, no_jitter)
    net = failed(attempt(), job(), [spec()], ProviderError("openai", "network", "reset"), 1.0, no_jitter)
    assert isinstance(auth, DeadLetter) and auth.status == "failed"
    assert isinstance(net, Retry) and net.error == "ProviderError: openai network error: reset"


def test_a_long_error_is_cut_to_500_characters_in_the_status_but_kept_whole_as_the_error() -> None:
    d = failed(attempt(), job(), [spec()], RuntimeError("x" * 1000), 1.0, no_jitter)
    assert isinstance(d, Retry) and len(d.status) == 500 and len(d.error) == len("RuntimeError: ") + 1000


# ---- time limits and cancels ------------------------------------------------------------------------------------
def test_a_task_stopped_at_its_soft_limit_is_retried_with_the_limit_as_its_error() -> None:
    s = spec(soft_limit_s=1, hard_limit_s=2.5)
    d = failed(attempt(s, soft_sent=True, stop_sent=1.0), job(), [s], KeyboardInterrupt(), 1.0, no_jitter)
    assert isinstance(d, Retry)
    assert d.error == "soft time limit of 1 s exceeded: the task was stopped"
    assert d.status == "retry 1/3 in 60.0 s: soft time limit of 1 s exceeded: the task was stopped"


def test_a_task_killed_after_the_stop_grace_says_so() -> None:
    s = spec(soft_limit_s=30, hard_limit_s=60)
    a = attempt(s, soft_sent=True, hard_sent=True, stop_sent=30.0)
    d = failed(a, job(), [s], RuntimeError("worker died"), 1.0, no_jitter)
    assert isinstance(d, Retry)
    assert d.error == "soft time limit of 30 s exceeded: the task did not stop within 3 s and its worker was killed"


def test_a_task_past_its_hard_limit_was_killed() -> None:
    s = spec(soft_limit_s=1, hard_limit_s=2.5)
    a = attempt(s, soft_sent=True, hard_sent=True, past_hard_limit=True, stop_sent=1.0)
    d = failed(a, job(stage_attempts=(4,)), [s], RuntimeError("worker died"), 1.0, no_jitter)
    assert d == DeadLetter(
        "failed after 4 attempts of t_render",
        "hard time limit of 2.5 s exceeded: the worker was killed",
        "RuntimeError",
    )


def test_a_permanent_looking_error_raised_while_stopping_at_a_limit_is_still_retried() -> None:
    """A task interrupted mid-step may raise anything; the limit, not that error, ended it."""
    s = spec(soft_limit_s=1)
    d = failed(attempt(s, soft_sent=True, stop_sent=1.0), job(), [s], ValueError("half-written file"), 1.0, no_jitter)
    assert isinstance(d, Retry) and d.error_type == "ValueError"


@pytest.mark.parametrize(
    "sent",
    [{}, {"soft_sent": True, "stop_sent": 1.0}, {"hard_sent": True, "past_hard_limit": True}],
    ids=["cancelled", "cancelled at the soft limit", "cancelled then killed"],
)
def test_a_cancelled_attempt_is_revoked_whatever_else_happened(sent: dict[str, Any]) -> None:
    a = attempt(cancelled=True, **sent)
    d = failed(a, job(stage_attempts=(1,)), [spec()], InvalidInputError("x", "y"), 1.0, no_jitter)
    assert d == Revoked("cancelled")
