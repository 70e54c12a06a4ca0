"""Work with slack (composing ahead of x264, the audio) runs on threads of lower CPU priority."""

from __future__ import annotations

import _thread
import os
import threading
import time

import pytest

from pipeline.low_priority import BACKGROUND_NICE, Background


def _nice_of_this_thread() -> int:
    with open(f"/proc/self/task/{threading.get_native_id()}/stat", encoding="ascii") as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="Linux only")
def test_background_work_runs_at_a_lower_priority_and_returns_its_value() -> None:
    caller = _nice_of_this_thread()
    job: Background[int] = Background(_nice_of_this_thread, "probe")
    assert job.result() == min(19, caller + BACKGROUND_NICE) > caller
    assert _nice_of_this_thread() == caller  # the caller's own priority is untouched


def test_background_errors_reach_the_caller() -> None:
    def fails() -> None:
        raise ValueError("bad frame")

    with pytest.raises(ValueError, match="bad frame"):
        Background(fails, "fails").result()


def test_an_interrupted_wait_is_seen_at_once_and_tells_the_work_to_stop() -> None:
    """Ray cancels a task with _thread.interrupt_main(), which a blocking join() never notices."""
    stop = threading.Event()
    job: Background[bool] = Background(lambda: stop.wait(10.0), "waits", stop)
    threading.Timer(0.2, _thread.interrupt_main).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        job.result()
    assert time.monotonic() - t0 < 1.0
    assert stop.is_set() and job.result() is True  # the work saw the stop and ended


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux only")
def test_idle_background_work_runs_only_when_nothing_else_wants_the_cpu() -> None:
    job: Background[int] = Background(lambda: os.sched_getscheduler(0), "idle", idle=True)
    assert job.result() == os.SCHED_IDLE
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the caller's is untouched
