"""The scheduler's own counts reach Datadog: the real ``datadog`` client, the local
HTTPS intake, the shared spool (kept while the intake is down, delivered next time)."""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import seawall
from seawall.config import Config
from seawall.config.datadog import DatadogConfig
from seawall.config.general import GeneralConfig
from seawall.lab.intake import DatadogIntake, closed_port_url
from seawall.model import CheckResult, Finding, Outcome, RunInfo, RunSummary
from seawall.report import registry
from seawall.report.datadog import DatadogReporter
from seawall.report.scheduler_metrics import DatadogSchedulerMetrics
from seawall.schedule import events
from seawall.schedule.clock import FakeClock
from seawall.schedule.command import scheduler_metrics
from seawall.schedule.events import CountingMetrics, EventLog
from seawall.schedule.lock import ScheduleLock
from seawall.schedule.runner import Scheduler

from .conftest import FAST_ENV, QUICK, make_schedule, write_probes


@pytest.fixture(autouse=True)
def fresh_client(datadog_client_reset: None) -> None:
    """Every test here starts with the datadog client's class state reset."""


@pytest.fixture(autouse=True)
def no_key_anywhere(api_key: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                    capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    caplog.set_level("DEBUG")
    yield
    out, err = capsys.readouterr()
    assert api_key not in out + err
    logged = [r.getMessage() for when in ("setup", "call") for r in caplog.get_records(when)]
    assert not any(api_key in line for line in logged)
    for path in tmp_path.rglob("*"):
        if path.is_file() and "pki" not in path.parts:
            assert api_key.encode() not in path.read_bytes(), path


def config(intake: DatadogIntake | None) -> Config:
    return Config(general=GeneralConfig(env="prod", team="Sec Ops", location="eu-1"),
                  datadog=DatadogConfig(ca_file=intake.ca_file if intake else None,
                                        timeout=2.0))


def environ(api_key: str, url: str) -> dict[str, str]:
    return {"DD_API_KEY": api_key, "DD_SITE": url}


def skipped_series(intake: DatadogIntake) -> list[dict[str, Any]]:
    return [s for s in intake.series if s["metric"] == "seawall.schedule.tick_skipped"]


def locked_tick(project: Path, metrics: Any) -> EventLog:
    """A real scheduler loop whose one due tick finds the schedule locked elsewhere."""
    write_probes(project / "probes", QUICK)
    schedule = make_schedule(project, tags=["tier:1", "owner:Net-Sec"])
    held = ScheduleLock(project / "state" / "locks", "lab")
    assert held.acquire()
    log = EventLog(io.StringIO(), env={})
    try:
        clock = FakeClock(datetime(2025, 1, 1, 10, 0, 30, tzinfo=UTC).timestamp())
        sched = Scheduler([schedule], state_dir=project / "state", cwd=project, clock=clock,
                          log=log, metrics=metrics, env=FAST_ENV, poll=30, idle_max=60)
        assert sched.run(ticks=2) == 0  # 10:00:30 nothing due; 10:01:00 due, locked
    finally:
        held.release()
    assert [e["reason"] for e in log.events if e["event"] == "tick_skipped"] == ["locked"]
    return log


def test_a_skipped_tick_arrives_as_a_count_with_the_standard_tags(
        tmp_path: Path, intake: DatadogIntake, api_key: str) -> None:
    write_probes(tmp_path / "probes", QUICK)
    schedule = make_schedule(tmp_path, tags=["tier:1", "owner:Net-Sec"])
    metrics = scheduler_metrics(config(intake), tmp_path / "state",
                                environ=environ(api_key, intake.url), schedules=[schedule])
    assert isinstance(metrics, DatadogSchedulerMetrics)
    locked_tick(tmp_path, metrics)
    [point] = skipped_series(intake)
    assert point["type"] == "count" and point["points"][0][1] == 1.0
    assert set(point["tags"]) == {
        "env:prod", "service:seawall", f"version:{seawall.__version__}", "team:sec_ops",
        "location:eu-1", "schedule:lab", "reason:locked", "tier:1", "owner:net-sec"}
    assert point["host"] == "seawall-local"
    assert list((tmp_path / "state" / "spool").glob("*.json")) == []
    assert api_key not in repr(metrics) and api_key not in repr(metrics.sender)


def test_with_the_intake_down_counts_are_spooled_and_delivered_next_time(
        tmp_path: Path, intake: DatadogIntake, api_key: str) -> None:
    state = tmp_path / "state"
    down = scheduler_metrics(config(intake), state, environ=environ(api_key, closed_port_url()))
    locked_tick(tmp_path, down)  # counted, flushed at shutdown: refused, kept
    assert intake.series == []
    [kept] = list((state / "spool").glob("*-scheduler-*.json"))
    assert "seawall.schedule.tick_skipped" in kept.read_text()
    assert any("kept in" in p for p in down.problems)
    # the next delivery from the shared spool (here a run's reporter) takes it along
    reporter = DatadogReporter.create(state_dir=state, environ=environ(api_key, intake.url),
                                      ca_file=intake.ca_file, timeout=2.0)
    info = RunInfo(run_id="r1", started_at=1e9, env="prod", schedule="lab")
    reporter.start(info)
    assert len(skipped_series(intake)) == 1  # replayed at the run's start
    reporter.result(CheckResult(finding=Finding(
        check="tls.quick", target="lab:1", outcome=Outcome.PASS, reason=None,
        summary="lab:1 is pass", observed_at=time.time()), test_id="t", duration=0.1))
    reporter.finish(RunSummary(run=dataclasses.replace(info, started_at=time.time()),
                               finished_at=time.time(), counts={"pass": 1}))
    assert len(skipped_series(intake)) == 1  # delivered once, not again at finish
    assert list((state / "spool").glob("*.json")) == []


def test_counts_never_raise(tmp_path: Path, api_key: str) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the state dir should be")
    metrics = scheduler_metrics(config(None), blocked, environ=environ(api_key, "https://x.test"))
    metrics.count(events.TICK_SKIPPED, tags=["schedule:lab", "reason:locked"])
    metrics.count("schedule.not_a_metric", tags=["schedule:lab"])
    metrics.count(events.RUN_ERROR, "x", tags=[None])  # type: ignore[arg-type]
    metrics.flush()  # cannot spool: logged, not raised
    assert isinstance(metrics, DatadogSchedulerMetrics)
    assert metrics.total(events.TICK_SKIPPED, "reason:locked") == 1
    assert metrics.unregistered == {"seawall.schedule.not_a_metric"}
    assert any("flush" in p for p in metrics.problems)


def test_replayed_flushes_keep_distinct_timestamps(tmp_path: Path, api_key: str) -> None:
    metrics = scheduler_metrics(config(None), tmp_path / "state",
                                environ=environ(api_key, closed_port_url()))
    assert isinstance(metrics, DatadogSchedulerMetrics)
    metrics.clock = lambda: 1_700_000_000.0
    stamps = []
    for _ in range(3):
        metrics.count(events.RUN_FINISHED, tags=["schedule:lab", "outcome:passed"])
        stamps.append(metrics._take()[0]["points"][0][0])
    assert stamps == [1_700_000_000, 1_700_000_001, 1_700_000_002]


def test_without_datadog_settings_counts_stay_in_memory(tmp_path: Path) -> None:
    assert isinstance(scheduler_metrics(config(None), tmp_path, environ={}), CountingMetrics)


def test_every_scheduler_count_is_registered() -> None:
    names = [events.TICK_SKIPPED, events.RUN_ERROR, events.RUN_FINISHED, events.CATCH_UP]
    assert {registry.PREFIX + n for n in names} == set(registry.SCHEDULER_METRICS)
    assert all(registry.is_emitted(registry.PREFIX + n) for n in names)
