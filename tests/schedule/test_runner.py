"""The scheduler loop driven by a fake clock, with short real child pytest runs."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seawall.schedule import events
from seawall.schedule import state as state_file
from seawall.schedule.child import classify_exit
from seawall.schedule.clock import FakeClock
from seawall.schedule.events import CountingMetrics, EventLog
from seawall.schedule.lock import ScheduleLock
from seawall.schedule.runner import Scheduler, jitter_offset
from seawall.schedule.spec import Schedule

from .conftest import (
    BROKEN,
    FAST_ENV,
    HANG,
    QUICK,
    WAIT_FOR_RELEASE,
    make_schedule,
    wait_for,
    write_probes,
)

PASSTHROUGH = '''
@pytest.mark.tls
def test_environment_passes_through():
    """The run sees the scheduler's environment."""
    assert os.environ["SEAWALL_PASS_THROUGH"] == "yes"
    assert os.environ["SEAWALL_SCHEDULE"] == "lab"
    assert os.environ["SEAWALL_TAGS"] == "tier:1"
    expect(finding())
'''


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


class ScriptedClock(FakeClock):
    """A fake clock that lets the test act (release a probe, stop) before each wait."""

    def __init__(self, start: float, hook: Callable[[threading.Event], None]) -> None:
        super().__init__(start, real_pause=0.02)
        self.hook = hook

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.hook(stop)
        return super().wait(stop, seconds)


def scheduler(project: Path, schedules: list[Schedule], clock: FakeClock,
              **options: object) -> tuple[Scheduler, EventLog, CountingMetrics]:
    log = EventLog(io.StringIO(), env={})
    metrics = CountingMetrics()
    env = {**FAST_ENV, "SEAWALL_PASS_THROUGH": "yes"}
    sched = Scheduler(schedules, state_dir=project / "state", cwd=project, clock=clock,
                      log=log, metrics=metrics, env=env, poll=30, idle_max=60,
                      **options)  # type: ignore[arg-type]
    return sched, log, metrics


def named(log: EventLog, event: str) -> list[dict[str, object]]:
    return [e for e in log.events if e["event"] == event]


def stop_after_first_run(log_ref: list[EventLog]) -> Callable[[threading.Event], None]:
    def hook(stop: threading.Event) -> None:
        if log_ref and named(log_ref[0], "run_finished"):
            stop.set()
    return hook


def test_overlapping_tick_is_skipped_logged_and_counted(project: Path) -> None:
    write_probes(project / "probes", WAIT_FOR_RELEASE)
    logs: list[EventLog] = []

    def hook(stop: threading.Event) -> None:
        if named(logs[0], "tick_skipped"):
            (project / "probes" / "release").touch()  # the next tick came: let it end
        if named(logs[0], "run_finished"):
            stop.set()

    clock = ScriptedClock(ts(2025, 1, 1, 10, 0, 30), hook)
    sched, log, metrics = scheduler(project, [make_schedule(project)], clock)
    logs.append(log)
    assert sched.run() == 0
    started = named(log, "run_started")
    skipped = named(log, "tick_skipped")
    assert len(started) == 1
    assert skipped and {e["reason"] for e in skipped} == {"still_running"}
    assert {e["run_id"] for e in skipped} == {started[0]["run_id"]}
    assert metrics.total(events.TICK_SKIPPED, "schedule:lab", "reason:still_running") == len(
        skipped)
    [finished] = named(log, "run_finished")
    assert finished["outcome"] == "passed" and finished["counts"]["pass"] == 1
    assert finished["complete"] is True and finished["spool_pending"] == 0
    assert str(finished["evidence"]).endswith(f"-{finished['pytest_run_id']}.json")
    assert named(log, "scheduler_stopped")[0]["runs"] == 1


def test_a_schedule_locked_by_another_process_is_skipped(project: Path) -> None:
    write_probes(project / "probes", QUICK)
    held = ScheduleLock(project / "state" / "locks", "lab")
    assert held.acquire()
    try:
        clock = FakeClock(ts(2025, 1, 1, 10, 0, 30))
        sched, log, metrics = scheduler(project, [make_schedule(project)], clock)
        sched.run(ticks=2)  # 10:00:30 nothing due; 10:01:00 due, locked
    finally:
        held.release()
    assert not named(log, "run_started")
    assert named(log, "tick_skipped")[0]["reason"] == "locked"
    assert metrics.total(events.TICK_SKIPPED, "reason:locked") == 1


def test_catch_up_runs_once_after_downtime_never_a_backlog(project: Path) -> None:
    write_probes(project / "probes", PASSTHROUGH)
    quarter = make_schedule(project, cron="*/15 * * * *", timeout=60, tags=["tier:1"])
    state_file.save(project / "state", {"schedules": {"lab": {"last_due": ts(2025, 1, 1, 10)}}})
    logs: list[EventLog] = []
    clock = ScriptedClock(ts(2025, 1, 1, 13, 7), stop_after_first_run(logs))
    sched, log, metrics = scheduler(project, [quarter], clock)
    logs.append(log)
    assert sched.run() == 0
    assert len(named(log, "run_started")) == 1
    [catch_up] = named(log, "catch_up")
    assert catch_up["missed"] == 11 and catch_up["due"] == "2025-01-01T13:00:00Z"
    assert metrics.total(events.CATCH_UP) == 11
    assert named(log, "run_finished")[0]["outcome"] == "passed"  # environment passed through

    # Restarted soon after: nothing missed, so nothing runs before the next due time.
    clock2 = FakeClock(ts(2025, 1, 1, 13, 8))
    sched2, log2, _ = scheduler(project, [quarter], clock2)
    sched2.run(ticks=1)
    assert not named(log2, "run_started") and not named(log2, "catch_up")
    assert named(log2, "scheduler_started")[0]["schedules"][0]["next_due"] == (
        "2025-01-01T13:15:00Z")


def test_first_start_waits_for_the_next_due_time(project: Path) -> None:
    write_probes(project / "probes", QUICK)
    clock = FakeClock(ts(2025, 1, 1, 10, 0, 30))
    sched, log, _ = scheduler(project, [make_schedule(project, cron="0 * * * *", timeout=60)],
                              clock)
    sched.run(ticks=1)
    assert not named(log, "run_started")
    assert clock.waits == [60]  # idle_max: the heartbeat keeps ticking while idle
    assert state_file.health(project / "state") == (False, "unhealthy: the scheduler has stopped")


def test_health_reads_the_heartbeat(tmp_path: Path) -> None:
    assert state_file.health(tmp_path) == (
        False, f"unhealthy: no scheduler heartbeat in {tmp_path}/schedule/state.json")
    state_file.save(tmp_path, {"schedules": {}})
    tick = state_file.load(tmp_path)["tick_at"]
    assert state_file.health(tmp_path, now=tick + 5) == (
        True, "healthy: last scheduler tick 5s ago")
    assert state_file.health(tmp_path, now=tick + 300) == (
        False, "unhealthy: last scheduler tick 300s ago (limit 120s)")


def test_jitter_is_within_bounds_and_stable(project: Path) -> None:
    s = make_schedule(project, cron="*/5 * * * *", timeout=60, jitter=30)
    offsets = {jitter_offset(s, ts(2025, 1, 1, 10, m)) for m in range(0, 60, 5)}
    assert all(0 <= o < 30 for o in offsets) and len(offsets) > 1
    assert jitter_offset(s, ts(2025, 1, 1, 10)) == jitter_offset(s, ts(2025, 1, 1, 10))


def expire_deadline_once_hanging(sched: Scheduler, marker: Path) -> threading.Thread:
    """Move the run's deadline to now once the probe hangs: the deadline path runs as
    at a real timeout, without betting on how fast the child starts under load."""
    def expire() -> None:
        wait_for(marker)
        child = sched.running["lab"][0]
        assert child.deadline == child.started + 50  # the schedule's timeout
        child.deadline = time.monotonic()

    thread = threading.Thread(target=expire, daemon=True)
    thread.start()
    return thread


def test_timeout_kills_the_hanging_child_and_keeps_partial_results(project: Path) -> None:
    probes = write_probes(project / "probes", QUICK, HANG)
    # a generous SIGKILL grace: under load, the child's flush (fsync) may take seconds
    sched, log, metrics = scheduler(project, [make_schedule(project)], FakeClock(0.0),
                                    kill_grace=60)
    expire_deadline_once_hanging(sched, probes / "hang.pid")
    result = sched.run_now("lab")
    assert result is not None
    assert (result.outcome, result.reason, result.exit_code) == ("error", "timeout", 2)
    assert result.counts == {"pass": 1, "warn": 0, "fail": 0, "error": 0}
    assert result.complete is False and result.evidence
    doc = json.loads(Path(result.evidence).read_text())
    assert [r["check"] for r in doc["results"]] == ["tls.quick"]
    assert not alive(int((probes / "hang.pid").read_text()))
    assert not alive(int((probes / "grandchild.pid").read_text()))
    assert metrics.total(events.RUN_ERROR, "reason:timeout") == 1
    assert named(log, "run_finished")[0]["reason"] == "timeout"


def test_a_child_ignoring_sigterm_is_killed(project: Path) -> None:
    probes = write_probes(project / "probes", HANG)
    sched, _, _ = scheduler(project, [make_schedule(project)], FakeClock(0.0), kill_grace=0.3)
    sched.env = {**(sched.env or {}), "PROBE_IGNORE_TERM": "1"}
    expire_deadline_once_hanging(sched, probes / "hang.pid")
    result = sched.run_now("lab")
    assert result is not None
    assert (result.outcome, result.reason, result.exit_code) == ("error", "timeout", -9)
    assert not alive(int((probes / "hang.pid").read_text()))
    assert not alive(int((probes / "grandchild.pid").read_text()))


@pytest.mark.parametrize(
    ("body", "values", "expected"),
    [
        (BROKEN, {}, ("broken", None, 1)),
        (QUICK, {"markers": "https"}, ("error", "no_tests_collected", 5)),
        (QUICK, {"markers": "tls and"}, ("error", "usage_error", 4)),
    ],
    ids=["broken-promise-is-a-finished-run", "nothing-selected", "bad-marker-expression"],
)
def test_exit_codes_of_real_runs(project: Path, body: str, values: dict[str, str],
                                 expected: tuple[str, str | None, int]) -> None:
    write_probes(project / "probes", body)
    sched, log, metrics = scheduler(project, [make_schedule(project, **values)], FakeClock(0.0))
    result = sched.run_now("lab")
    assert result is not None
    assert (result.outcome, result.reason, result.exit_code) == expected
    assert result.finished is (expected[0] == "broken")
    assert metrics.total(events.RUN_ERROR) == (0 if result.finished else 1)
    if not result.finished:
        assert named(log, "run_finished")[0]["detail"]  # the child's last line says why


def test_exit_code_table() -> None:
    assert classify_exit(0, timed_out=False, stopped=False) == ("passed", None)
    assert classify_exit(1, timed_out=False, stopped=False) == ("broken", None)
    assert classify_exit(2, timed_out=False, stopped=False) == ("error", "interrupted")
    assert classify_exit(3, timed_out=False, stopped=False) == ("error", "internal_error")
    assert classify_exit(-9, timed_out=False, stopped=False) == ("error", "killed_by_sigkill")
    assert classify_exit(77, timed_out=False, stopped=False) == ("error", "exit_77")
    assert classify_exit(0, timed_out=True, stopped=False) == ("error", "timeout")
    assert classify_exit(2, timed_out=False, stopped=True) == ("error", "stopped")


def test_event_log_redacts_secret_values() -> None:
    out = io.StringIO()
    log = EventLog(out, env={"DD_API_KEY": "abcd1234secret", "HOME": "/root"})
    log.emit("run_finished", detail="ERROR: key abcd1234secret rejected", home="/root")
    line = json.loads(out.getvalue())
    assert line["detail"] == "ERROR: key [redacted] rejected" and line["home"] == "/root"


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_helpers_see_live_processes() -> None:
    assert alive(os.getpid())


def test_an_unwritable_state_dir_is_logged_once_and_the_loop_goes_on(project: Path) -> None:
    (project / "state").mkdir()
    (project / "state" / "schedule").write_text("a file where a folder should be")
    clock = FakeClock(ts(2025, 1, 1, 10, 0, 30))
    sched, log, _ = scheduler(project, [make_schedule(project, cron="0 * * * *", timeout=60)],
                              clock)
    assert sched.run(ticks=3) == 0
    [error] = named(log, "state_error")
    assert str(error["detail"]).startswith(f"{project}/state/schedule/state.json: ")
    assert len(clock.waits) == 3
