"""The scheduler's clock, injectable (as trio's is): it decides when schedules are due.

:class:`SystemClock` is the wall clock. :class:`FakeClock` is for tests: ``wait`` moves
time forward instead of sleeping, so a day of schedules takes milliseconds. Deadlines
of real child processes are always measured in real (monotonic) time, because the
children run for real.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Wall time for due-time computation, and an interruptible wait."""

    def now(self) -> float:
        """Unix time in seconds."""
        ...

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Let ``seconds`` pass unless ``stop`` is set first; return whether it is set."""
        ...


class SystemClock:
    """The real clock: ``time.time`` and ``Event.wait``."""

    def now(self) -> float:
        """Unix time in seconds."""
        return time.time()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Sleep up to ``seconds``; a signal handler setting ``stop`` wakes it early."""
        return stop.wait(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when waited on (or when ``advance`` is called).

    ``real_pause`` seconds of real time pass on each wait, so real child processes
    started by the scheduler make progress while fake time jumps ahead.
    """

    def __init__(self, start: float, *, real_pause: float = 0.0) -> None:
        self.time = start
        self.real_pause = real_pause
        self.waits: list[float] = []

    def now(self) -> float:
        """The fake Unix time."""
        return self.time

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.time += seconds

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Jump ``seconds`` forward (after ``real_pause`` of real time)."""
        self.waits.append(seconds)
        if stop.wait(self.real_pause) or stop.is_set():
            return True
        self.time += max(0.0, seconds)
        return stop.is_set()
