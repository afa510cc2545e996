"""The real ``datadog`` client against the local HTTPS intake, through every fault:
nothing lost, nothing duplicated beyond idempotent gauges, the right messages."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from seawall.lab.intake import DatadogIntake, closed_port_url
from seawall.model import Outcome

FAILING = 3  # results per run in `three()`: pass, fail, error


def three(kit: Any, tag: str = "") -> list[Any]:
    return [kit.finding(target=f"a{tag}.example.com:443", metrics={"tls.cert.days_to_expiry": 40}),
            kit.finding(target=f"b{tag}.example.com:443", outcome=Outcome.FAIL),
            kit.finding(target=f"c{tag}.example.com:443", outcome=Outcome.ERROR, reason="timeout")]


def series_key(s: dict[str, Any]) -> tuple[Any, ...]:
    return (s["metric"], tuple(s["tags"]), s["points"][0][0])


def assert_exactly_once(intake: DatadogIntake, runs: int) -> None:
    """Each run's service checks and events arrived exactly once; gauges at least once
    (a resent gauge carries its original timestamp, so a duplicate is idempotent)."""
    checks = Counter((c["tags"][-1], c["timestamp"]) for c in intake.checks)
    assert len(checks) == runs * FAILING and set(checks.values()) == {1}
    titles = Counter((e["title"], e["date_happened"]) for e in intake.events)
    assert len(titles) == runs * 2 and set(titles.values()) == {1}
    heartbeats = [s for s in intake.series if s["metric"] == "seawall.run.heartbeat"]
    assert len({s["points"][0][0] for s in heartbeats}) >= 1
    assert intake.rejected == []


def spool_files(state_dir: Path) -> list[Path]:
    return sorted((state_dir / "spool").glob("*.json"))


def test_a_run_arrives_whole_in_few_requests(kit: Any, intake: DatadogIntake) -> None:
    reporter = kit.reporter()
    summary = kit.run(reporter, three(kit))
    assert_exactly_once(intake, 1)
    paths = Counter(r.path for r in intake.requests)
    assert paths == {"/api/v1/series": 1, "/api/v1/check_run": 1, "/api/v1/events": 2}
    by_metric = {s["metric"]: s for s in intake.series}
    assert by_metric["seawall.run.heartbeat"]["points"] == [[int(summary.finished_at), 1.0]]
    assert by_metric["seawall.tls.cert.days_to_expiry"]["points"][0][1] == 40.0
    assert spool_files(kit.state_dir) == []
    assert reporter.status().startswith(f"sent to {intake.url}: ")
    assert "3 service checks, 2 events in 4 requests" in reporter.status()


@pytest.mark.parametrize("fault", ["503", "500", "429", "close"])
def test_transient_faults_keep_then_replay(kit: Any, intake: DatadogIntake, fault: str) -> None:
    intake.fault(fault, times=10)
    first = kit.reporter()
    kit.run(first, three(kit, "1"))
    assert intake.checks == [] and intake.events == []
    assert "NOT DELIVERED" in first.status() and "retried at the next run" in first.status()
    assert len(spool_files(kit.state_dir)) == 1
    intake.clear_faults()
    second = kit.reporter()
    kit.run(second, three(kit, "2"))
    assert_exactly_once(intake, 2)
    assert spool_files(kit.state_dir) == []
    first_series = next(i for i, r in enumerate(intake.requests)
                        if r.path == "/api/v1/series" and r.status == 202)
    replayed = intake.series[: intake.requests[first_series].items]
    assert any("target:b1.example.com:443" in s["tags"] for s in replayed)  # oldest first


def test_refused_connection_is_kept(kit: Any, intake: DatadogIntake) -> None:
    first = kit.reporter(url=closed_port_url())
    kit.run(first, three(kit))
    assert "NOT DELIVERED: ClientError" in first.status()
    kit.run(kit.reporter(), [])
    assert_exactly_once(intake, 1)


def test_delay_past_timeout_is_kept(kit: Any, intake: DatadogIntake) -> None:
    intake.fault("delay", times=1, delay=1.0)
    first = kit.reporter(timeout=0.3)
    kit.run(first, three(kit))
    assert "NOT DELIVERED: HttpTimeout" in first.status()
    kit.run(kit.reporter(), [])
    assert_exactly_once(intake, 1)


def test_unknown_ca_is_kept(kit: Any, intake: DatadogIntake) -> None:
    first = kit.reporter(ca_file=intake.pki.untrusted_ca_file)
    kit.run(first, three(kit))
    assert "CERTIFICATE_VERIFY_FAILED" in first.status()
    assert intake.checks == []
    kit.run(kit.reporter(), [])
    assert_exactly_once(intake, 1)


def test_413_splits_until_it_fits(tmp_path: Path, api_key: str, kit: Any) -> None:
    with DatadogIntake(tmp_path / "small", api_key=api_key, max_payload_bytes=6000) as small:
        kit.intake = small
        findings = [kit.finding(target=f"h{i}.example.com:443") for i in range(40)]
        reporter = kit.reporter()
        kit.run(reporter, findings)
        statuses = Counter(r.status for r in small.requests if r.path == "/api/v1/series")
        assert statuses[413] >= 1 and statuses[202] >= 2
        assert len(small.series) == 40 * 2 + 8  # result+duration per check, 8 run gauges
        assert len({series_key(s) for s in small.series}) == len(small.series)
        assert len(small.checks) == 40
        assert small.key_leaks == []


def test_400_is_dropped_with_evidence(kit: Any, intake: DatadogIntake) -> None:
    intake.fault("400", times=1, path="/api/v1/series")
    reporter = kit.reporter()
    kit.run(reporter, three(kit))
    assert "series rejected (HTTP 400: ApiError: {'errors': ['injected 400']})" in reporter.status()
    rejected = list((kit.state_dir / "spool" / "rejected").glob("*series*"))
    assert len(rejected) == 1
    kept = json.loads(rejected[0].read_text())
    assert kept["reason"].startswith("HTTP 400") and len(kept["items"]) == 3 * 2 + 1 + 8
    assert len(intake.checks) == 3 and spool_files(kit.state_dir) == []
    kit.run(kit.reporter(), [])
    dropped = [s for s in intake.series if s["metric"] == "seawall.report.dropped"]
    assert dropped[-1]["points"][0][1] == 3 * 2 + 1 + 8


def test_403_names_the_key_and_site_once(kit: Any, intake: DatadogIntake,
                                          caplog: pytest.LogCaptureFixture) -> None:
    wrong = kit.reporter()
    wrong.sender.api_key = type(wrong.sender.api_key)("0" * 32)
    kit.run(wrong, three(kit))
    message = (f"Datadog refused the request (HTTP 403 from {intake.url}): "
               "check DD_API_KEY and DD_SITE")
    assert wrong.status().startswith(f"sent to {intake.url}: 0 gauges")
    assert message in wrong.status()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
              and r.name.startswith("seawall")]
    assert errors == [message]
    kit.run(kit.reporter(), [])
    assert_exactly_once(intake, 1)


def test_403_injected_is_an_auth_problem(kit: Any, intake: DatadogIntake) -> None:
    intake.fault("403", times=1)
    reporter = kit.reporter()
    kit.run(reporter, three(kit))
    assert "check DD_API_KEY and DD_SITE" in reporter.status()
    assert len(spool_files(kit.state_dir)) == 1


def test_items_past_their_window_are_counted_and_announced(kit: Any,
                                                           intake: DatadogIntake) -> None:
    intake.fault("503", times=10)
    kit.run(kit.reporter(), three(kit))
    intake.clear_faults()
    later = kit.reporter()
    later.spool.clock = lambda: time.time() + 700  # checks (10 min) expired, gauges not
    kit.run(later, [])
    assert intake.checks == []  # the old checks are past the window: never sent late
    titles = {e["title"] for e in intake.events}
    assert "[Seawall] 3 results expired before delivery (test)" in titles
    assert "3 items past Datadog's window dropped" in later.status()
    assert any("target:b.example.com:443" in s["tags"] for s in intake.series)


def test_spool_is_bounded(kit: Any, intake: DatadogIntake) -> None:
    intake.fault("503", times=100)
    for i in range(3):
        kit.run(kit.reporter(spool_max_files=2), three(kit, str(i)), started=time.time() + i)
    assert len(spool_files(kit.state_dir)) == 2
    intake.clear_faults()
    kit.run(kit.reporter(spool_max_files=2), [])
    targets = {c["tags"][-1] for c in intake.checks}
    assert "target:a0.example.com:443" not in targets  # the oldest run went first
    assert "target:a1.example.com:443" in targets
    assert any(e["title"].startswith("[Seawall] ") and "expired before delivery" in e["title"]
               for e in intake.events)


def test_recovery_sends_a_success_event(kit: Any, intake: DatadogIntake) -> None:
    kit.run(kit.reporter(), [kit.finding(outcome=Outcome.FAIL)])
    kit.run(kit.reporter(), [kit.finding()])
    kit.run(kit.reporter(), [kit.finding()])
    types = [e["alert_type"] for e in intake.events]
    assert types == ["error", "success"]
    assert intake.events[1]["title"] == (
        "[Seawall] RECOVERED tls.min_version on api.example.com:443 (test)")


def test_partial_delivery_resumes_where_it_stopped(kit: Any, intake: DatadogIntake) -> None:
    intake.fault("503", times=1, path="/api/v1/events")
    kit.run(kit.reporter(), three(kit, "1"))
    assert len(intake.checks) == 3 and intake.events == []
    kept = json.loads(spool_files(kit.state_dir)[0].read_text())["parts"]
    assert (len(kept["series"]), len(kept["check_run"]), len(kept["events"])) == (0, 0, 2)
    kit.run(kit.reporter(), three(kit, "2"))
    assert_exactly_once(intake, 2)
    per_result = [s for s in intake.series if s["metric"].startswith("seawall.check.")]
    assert len(per_result) == 2 * 3 * 2  # result + duration per check, two runs
    assert len({series_key(s) for s in per_result}) == len(per_result)  # none sent twice
