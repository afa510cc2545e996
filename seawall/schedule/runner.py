"""The in-process scheduler: runs each due schedule as a child pytest process.

One loop, no threads: each tick it starts due schedules, polls running children
(enforcing their deadlines), writes its heartbeat and waits until the next due time
or poll. Guarantees:

- never two runs of one schedule at once: a tick that comes while the schedule is
  still running (or locked by another process) is skipped, logged and counted;
- at most one catch-up run after downtime or a stall, never a backlog: missed due
  times are counted and logged, one run is started;
- ``stop`` (SIGTERM/SIGINT): no new runs; running ones get ``stop_grace`` seconds to
  finish, then are terminated (SIGTERM, then SIGKILL) and keep their partial
  results; metrics are flushed; :meth:`Scheduler.run` returns 0.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from seawall.schedule import state as state_file
from seawall.schedule.child import ChildRun, RunResult
from seawall.schedule.clock import Clock
from seawall.schedule.events import (
    CATCH_UP,
    RUN_ERROR,
    RUN_FINISHED,
    TICK_SKIPPED,
    EventLog,
    SchedulerMetrics,
)
from seawall.schedule.lock import ScheduleLock
from seawall.schedule.spec import Schedule

_MAX_MISSED_COUNTED = 10_000


def jitter_offset(schedule: Schedule, due: float) -> float:
    """A delay in [0, jitter) after ``due``: spread, but the same for the same due time."""
    if not schedule.jitter:
        return 0.0
    return random.Random(f"{schedule.name}:{due:.0f}").uniform(0, schedule.jitter)


def spool_pending(state_dir: Path) -> int:
    """Files waiting in the Datadog spool (0 when there is none)."""
    spool = state_dir / "spool"
    return sum(1 for p in spool.glob("*.json") if p.name != "counters.json")


class Scheduler:
    """Runs ``schedules`` until ``stop`` is set. ``clock`` decides what is due."""

    def __init__(self, schedules: Sequence[Schedule], *, state_dir: Path, cwd: Path,
                 clock: Clock, log: EventLog, metrics: SchedulerMetrics,
                 stop: threading.Event | None = None, env: Mapping[str, str] | None = None,
                 poll: float = 1.0, idle_max: float = 15.0, stop_grace: float = 5.0,
                 kill_grace: float = 3.0) -> None:
        self.schedules = list(schedules)
        self.state_dir = state_dir
        self.cwd = cwd
        self.clock = clock
        self.log = log
        self.metrics = metrics
        self.stop = stop or threading.Event()
        self.env = env
        self.poll = poll
        self.idle_max = idle_max
        self.stop_grace = stop_grace
        self.kill_grace = kill_grace
        self.running: dict[str, tuple[ChildRun, ScheduleLock]] = {}
        self.results: list[RunResult] = []
        self.state: dict[str, Any] = {"schedules": {}}
        self.next_due: dict[str, float] = {}
        self._state_error = ""

    def _entry(self, name: str) -> dict[str, Any]:
        entry: dict[str, Any] = self.state["schedules"].setdefault(name, {})
        return entry

    def _plan(self) -> None:
        """Next due times: after the last handled one (a missed one is caught up once)."""
        self.state = state_file.load(self.state_dir)
        self.state.pop("stopped", None)
        now = self.clock.now()
        for s in self.schedules:
            last = self._entry(s.name).get("last_due")
            last_due = float(last) if isinstance(last, int | float) else None
            start = now if last_due is None or last_due > now else last_due
            self.next_due[s.name] = s.next_fire(start)

    def run(self, *, ticks: int | None = None) -> int:
        """The loop. ``ticks`` bounds the iterations (tests); returns the exit code, 0."""
        self._plan()
        self.log.emit("scheduler_started", schedules=[
            {"schedule": s.name, "cron": s.cron, "next_due": _iso(self.next_due[s.name])}
            for s in self.schedules
        ])
        count = 0
        while not self.stop.is_set() and (ticks is None or count < ticks):
            count += 1
            self._start_due()
            self._reap()
            self._save()
            self.clock.wait(self.stop, self._sleep_for())
        return self._shutdown()

    def _save(self) -> None:
        """Write the state and heartbeat; a failure is logged (once per cause) and the
        loop goes on: runs matter more, and the stale heartbeat makes health fail."""
        try:
            state_file.save(self.state_dir, self.state)
        except OSError as exc:
            detail = f"{state_file.state_path(self.state_dir)}: {exc.strerror or exc}"
            if detail != self._state_error:
                self.log.emit("state_error", detail=detail)
            self._state_error = detail
        else:
            self._state_error = ""

    def _sleep_for(self) -> float:
        now = self.clock.now()
        until = min(
            (self.next_due[s.name] + jitter_offset(s, self.next_due[s.name]) - now
             for s in self.schedules), default=self.idle_max,
        )
        limit = self.poll if self.running else self.idle_max
        return max(0.0, min(until, limit))

    def _start_due(self) -> None:
        now = self.clock.now()
        for s in self.schedules:
            first = self.next_due[s.name]
            if now < first + jitter_offset(s, first):
                continue
            due = s.last_fire(now)
            missed = 0
            for fire in s.fires_after(first - 1):
                if fire > due or missed >= _MAX_MISSED_COUNTED:
                    break
                missed += 1
            self.next_due[s.name] = s.next_fire(now)
            self._entry(s.name)["last_due"] = due
            if missed > 1:
                self.log.emit("catch_up", schedule=s.name, missed=missed - 1, due=_iso(due))
                self.metrics.count(CATCH_UP, missed - 1, tags=[f"schedule:{s.name}"])
            self._start(s, due)

    def _skip(self, s: Schedule, due: float, reason: str, **fields: Any) -> None:
        self.log.emit("tick_skipped", schedule=s.name, due=_iso(due), reason=reason, **fields)
        self.metrics.count(TICK_SKIPPED, tags=[f"schedule:{s.name}", f"reason:{reason}"])

    def _start(self, s: Schedule, due: float) -> None:
        if s.name in self.running:
            self._skip(s, due, "still_running", run_id=self.running[s.name][0].run_id)
            return
        lock = ScheduleLock(self.state_dir / "locks", s.name)
        if not lock.acquire():
            self._skip(s, due, "locked", lock=str(lock.path))
            return
        try:
            child = ChildRun(s, state_dir=self.state_dir, cwd=self.cwd, env=self.env,
                             kill_grace=self.kill_grace)
        except OSError as exc:
            lock.release()
            self.log.emit("run_error", schedule=s.name, reason="spawn_failed",
                          detail=str(exc.strerror or exc))
            self.metrics.count(RUN_ERROR, tags=[f"schedule:{s.name}", "reason:spawn_failed"])
            return
        self.running[s.name] = (child, lock)
        self._entry(s.name)["last_started"] = self.clock.now()
        self.log.emit("run_started", schedule=s.name, run_id=child.run_id, due=_iso(due),
                      timeout=s.timeout, pid=child.process.pid)

    def _reap(self) -> None:
        for name, (child, lock) in list(self.running.items()):
            result = child.poll()
            if result is None:
                continue
            lock.release()
            del self.running[name]
            self._record(result)

    def _record(self, result: RunResult) -> None:
        self.results.append(result)
        entry = self._entry(result.schedule)
        entry.update(last_outcome=result.outcome, last_reason=result.reason,
                     last_run_id=result.run_id)
        if result.finished:
            entry["last_finished"] = self.clock.now()
        tags = [f"schedule:{result.schedule}"]
        self.metrics.count(RUN_FINISHED, tags=[*tags, f"outcome:{result.outcome}"])
        if not result.finished:
            self.metrics.count(RUN_ERROR, tags=[*tags, f"reason:{result.reason}"])
        self.log.emit("run_finished", **result.fields(),
                      spool_pending=spool_pending(self.state_dir))
        self.metrics.flush()

    def run_now(self, name: str) -> RunResult | None:
        """Run one schedule now (``--once``), as the loop would; None if it was skipped.
        The state file belongs to the loop and is left alone."""
        schedule = next(s for s in self.schedules if s.name == name)
        self._start(schedule, self.clock.now())
        while self.running and not self.stop.is_set():
            self._reap()
            self.stop.wait(0.05)
        self._shutdown(save_state=False)
        return self.results[-1] if self.results else None

    def _shutdown(self, *, save_state: bool = True) -> int:
        """Let running children finish within ``stop_grace``, then end them."""
        if self.running:
            self.log.emit("stopping", running=sorted(self.running), grace=self.stop_grace)
        end = time.monotonic() + self.stop_grace
        while self.running and time.monotonic() < end:
            self._reap()
            time.sleep(0.05)
        for child, _ in self.running.values():
            child.terminate(stopped=True)
        while self.running:
            self._reap()
            time.sleep(0.05)
        self.metrics.flush()
        if save_state:
            self.state["stopped"] = True
            self._save()
            self.log.emit("scheduler_stopped", runs=len(self.results))
        return 0


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
