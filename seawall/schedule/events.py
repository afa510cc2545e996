"""What the scheduler tells the world: JSON lines on stdout, and its own metrics.

Every event is one JSON object on one line: ``ts`` (UTC, ISO 8601), ``event`` and
fields (``schedule``, ``run_id``, ``outcome``, ``counts``, ``duration``, ...). Before a
line is written, the values of secret environment variables (``DD_API_KEY``,
``DD_APP_KEY`` and any ``*_KEY``/``*_TOKEN``/``*_SECRET``/``*_PASSWORD``) are replaced by
``[redacted]``, so a secret echoed by a child's error line never reaches the log.

The scheduler's own metrics (skipped ticks, run errors, catch-ups) go through the small
:class:`SchedulerMetrics` seam: :class:`CountingMetrics` keeps them in memory (no
Datadog set up, and the tests); with ``DD_API_KEY`` or a DogStatsD Agent,
:func:`seawall.schedule.command.scheduler_metrics` returns
:class:`seawall.report.scheduler_metrics.DatadogSchedulerMetrics`, which sends them as
``seawall.schedule.*`` counts through the reporter's spool and transport.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TextIO

SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD")
REDACTED = "[redacted]"

#: Metric names (without the ``seawall.`` prefix) the scheduler emits, all counts.
TICK_SKIPPED = "schedule.tick_skipped"  # tags: schedule, reason (still_running | locked)
RUN_ERROR = "schedule.run_error"  # tags: schedule, reason (timeout, usage_error, ...)
RUN_FINISHED = "schedule.run_finished"  # tags: schedule, outcome (passed | broken | error)
CATCH_UP = "schedule.catch_up"  # tags: schedule; value: due times missed while down


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values of environment variables that hold secrets (longest first)."""
    found = {
        value
        for name, value in env.items()
        if len(value) >= 4 and name.upper().endswith(SECRET_SUFFIXES)
    }
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret value replaced."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


class EventLog:
    """Writes JSON-lines events, one per line, flushed at once, secrets redacted."""

    def __init__(self, stream: TextIO | None = None, *,
                 env: Mapping[str, str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.secrets = secret_values(os.environ if env is None else env)
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> None:
        """Write one event line."""
        record = {"ts": _iso(time.time()), "event": event, **fields}
        line = redact(json.dumps(record, default=str, sort_keys=False), self.secrets)
        with self._lock:
            self.events.append(json.loads(line))
            self.stream.write(line + "\n")
            self.stream.flush()


class SchedulerMetrics(Protocol):
    """Where the scheduler's own counts go. Must not raise for a delivery problem."""

    def count(self, name: str, value: int = 1, *, tags: Sequence[str] = ()) -> None:
        """Add ``value`` to the count ``name`` with ``tags`` (``schedule:tls``)."""
        ...

    def flush(self) -> None:
        """Deliver what was counted (called after each run and at shutdown)."""
        ...


class CountingMetrics:
    """Keeps counts in memory: what the state file shows and the tests read."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, tuple[str, ...]]] = Counter()
        self.flushes = 0

    def count(self, name: str, value: int = 1, *, tags: Sequence[str] = ()) -> None:
        """Add to the in-memory count."""
        self.counts[(name, tuple(sorted(tags)))] += value

    def flush(self) -> None:
        """Nothing to deliver; counted for tests."""
        self.flushes += 1

    def total(self, name: str, *tags: str) -> int:
        """Sum of ``name`` over every tag set that includes ``tags``."""
        return sum(v for (n, t), v in self.counts.items() if n == name and set(tags) <= set(t))

    def as_json(self) -> dict[str, int]:
        """Flat ``name{tag,tag}: value`` map for the state file."""
        return {f"{n}{{{','.join(t)}}}": v for (n, t), v in sorted(self.counts.items())}


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1000):03d}Z"
