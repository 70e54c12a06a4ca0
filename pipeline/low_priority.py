"""Threads for work with slack, at a lower CPU priority than the work that waits for it."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from pipeline.errors import RenderCancelled

# How much lower than the caller's the CPU priority of background work is (Linux nice levels).
BACKGROUND_NICE = 19

T = TypeVar("T")


def give_way() -> None:
    """Let a thread waiting for this CPU have it now (sched_yield; ~0.5 us when none is). Work that runs beside
    x264 calls it between pieces of about 0.1 ms: a low-priority thread that computes for milliseconds without a
    break keeps x264's woken threads waiting. Measured here: 3.3 ms of work 55 times a second, at nice 19 or even
    SCHED_IDLE, cost x264 7-10 % of its frames/s; the same work in 0.33 ms pieces with a yield between, nothing.
    The frame kernels do the same from inside (pipeline.frame_kernels.GIVE_WAY)."""
    with contextlib.suppress(AttributeError):  # not on this OS
        os.sched_yield()


WAIT_SLICE_S = 0.05


def wait_until(done: Callable[[], bool], slice_s: float = WAIT_SLICE_S) -> None:
    """Block until `done()` in slices, so an interrupt (a cancel, a time limit) is seen within `slice_s`."""
    ready = threading.Event()
    while not done():
        ready.wait(slice_s)


class Background(threading.Thread, Generic[T]):
    """Runs `fn` on a thread of its own at a lower CPU priority, for work with slack: x264, the critical path, uses
    ~1.67 of 2 cores by itself; composing (ahead of it by a queue) and the audio (needed only at the end) run
    mostly in what it leaves idle instead of taking time slices from it (measured: +4 % frames/s). When x264
    waits for them, the cores are idle and they run anyway.

    `idle=True` goes lower still (Linux's SCHED_IDLE: only what no other thread wants), for the audio: it has the
    whole render to finish, and at nice 19 it competed with composing and decoding while they fell behind x264 in
    the first loop of the footage (x264 waited 1.5-1.7 s for frames instead of 1.8-2.2 s, -0.5 s a 30 s reel).

    `result()` waits and returns `fn`'s value or raises its error; interrupted while waiting (a cancelled Ray
    task), it sets `stop`, which `fn` watches, and re-raises. It waits in short slices: Ray cancels a task with
    `_thread.interrupt_main()`, which the main thread only notices between bytecodes, never inside a blocking
    `join()`."""

    def __init__(self, fn: Callable[[], T], name: str, stop: threading.Event | None = None, idle: bool = False) -> None:
        super().__init__(name=name, daemon=True)
        self._fn, self._stop_event, self._idle = fn, stop or threading.Event(), idle
        self._value: list[T] = []
        self._error: list[BaseException] = []
        self.start()

    def run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed: normal priority
            tid = threading.get_native_id()  # a new thread starts at its creator's priority
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICE))
            if self._idle:
                os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        try:
            self._value.append(self._fn())
        except BaseException as e:
            self._error.append(e)

    def result(self) -> T:
        try:
            wait_until(lambda: not self.is_alive())
        except BaseException:
            self._stop_event.set()
            raise
        if self._error:
            raise self._error[0]
        return self._value[0]

    def finish(self) -> None:
        """Wait for `fn` to end (in slices, like result()) without its value or error."""
        wait_until(lambda: not self.is_alive())


def check_cancel(cancel: threading.Event | None) -> None:
    """RenderCancelled when `cancel` is set: long steps call it between pieces of work."""
    if cancel is not None and cancel.is_set():
        raise RenderCancelled("the render was cancelled")
