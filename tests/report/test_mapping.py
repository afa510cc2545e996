"""The pure mapping: outcomes, tags, timestamps, events, registry, cardinality."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any

import pytest

import seawall.report
from seawall.model import CheckResult, Finding, Outcome, RunInfo, RunSummary
from seawall.report import registry
from seawall.report.datadog import (
    MAX_EVENT_TEXT,
    Identity,
    aggregation_key,
    map_run,
    site_url,
    status_key,
)
from seawall.report.tags import normalize, run_tags

RUN = RunInfo(run_id="run123abc", started_at=1_700_000_000.0, env="Prod EU", team="Sec Ops",
              location="eu-west-1", schedule="hourly", version="0.1.0")
ID = Identity(host="seawall-eu-west-1")


def result(outcome: Outcome, *, target: str = "api.example.com:443", at: float = 1_700_000_100.5,
           **kw: Any) -> CheckResult:
    f = Finding(check="tls.min_version", target=target, outcome=outcome,
                reason=None if outcome is Outcome.PASS else "protocol_too_old",
                summary=f"{target} says {outcome.value}", observed_at=at, **kw)
    return CheckResult(finding=f, test_id="probes/tls/test_x.py::test_min_version", duration=0.5)


def mapped(results: list[CheckResult], previous: dict[str, int] | None = None, **kw: Any) -> Any:
    summary = RunSummary(run=RUN, finished_at=1_700_000_200.0, counts={"pass": len(results)})
    return map_run(summary, results, identity=ID, previous=previous or {}, **kw)


@pytest.mark.parametrize(("outcome", "status", "alert"), [
    (Outcome.PASS, 0, None), (Outcome.WARN, 1, None),
    (Outcome.FAIL, 2, "error"), (Outcome.ERROR, 3, "warning"),
])
def test_outcome_mapping(outcome: Outcome, status: int, alert: str | None) -> None:
    m = mapped([result(outcome)])
    (check,) = m.parts["check_run"]
    assert (check["check"], check["status"]) == ("seawall.check", status)
    gauge = next(s for s in m.parts["series"] if s["metric"] == "seawall.check.result")
    assert gauge["points"] == [[1_700_000_100, float(status)]]
    assert [e["alert_type"] for e in m.parts["events"]] == ([alert] if alert else [])


def test_timestamps_are_probe_time_never_send_time() -> None:
    m = mapped([result(Outcome.FAIL, at=1_700_000_111.9)])
    assert m.parts["check_run"][0]["timestamp"] == 1_700_000_111
    assert m.parts["events"][0]["date_happened"] == 1_700_000_111
    per_result = [s for s in m.parts["series"] if s["metric"].startswith("seawall.check.")]
    assert {s["points"][0][0] for s in per_result} == {1_700_000_111}
    heartbeat = next(s for s in m.parts["series"] if s["metric"] == "seawall.run.heartbeat")
    assert heartbeat["points"] == [[1_700_000_200, 1.0]]
    assert all(abs(p["points"][0][0] - time.time()) > 3600 for p in m.parts["series"])


def test_tags_on_everything_are_normalised_and_bounded() -> None:
    m = mapped([result(Outcome.FAIL, target="API.Example.com:443")])
    base = ["env:prod_eu", "service:seawall", "version:0.1.0", "team:sec_ops",
            "location:eu-west-1", "schedule:hourly"]
    for kind in ("series", "check_run", "events"):
        for item in m.parts[kind]:
            assert item["tags"][:6] == base
    check_tags = m.parts["check_run"][0]["tags"]
    assert check_tags[6:] == ["suite:tls", "check:tls.min_version", "target:api.example.com:443"]
    everything = str(m.parts["series"]) + str(m.parts["check_run"])
    assert "run123abc" not in everything  # run ids only in event text
    assert "run123abc" in m.parts["events"][0]["text"]


@pytest.mark.parametrize(("raw", "want"), [
    ("Env:Prod EU", "env:prod_eu"),
    ("target:10.0.0.1->10.0.0.2/tcp", "target:10.0.0.1-_10.0.0.2/tcp"),
    ("9lives:x", "lives:x"),
    ("check:" + "x" * 300, "check:" + "x" * 194),
    ("a!!b??", "a_b"),
])
def test_normalize(raw: str, want: str) -> None:
    assert normalize(raw) == want
    assert len(normalize(raw)) <= 200


def test_run_tags_never_dangle() -> None:
    assert run_tags(RunInfo(run_id="x", started_at=0, team=""))[3] == "team:none"


def test_event_shape_and_limits() -> None:
    big = {"chain": ["x" * 100] * 100}
    m = mapped([result(Outcome.FAIL, target="t" * 150 + ":443", evidence=big)])
    (event,) = m.parts["events"]
    assert event["title"].startswith("[Seawall] FAIL tls.min_version on ttt")
    assert len(event["title"]) <= 100
    assert len(event["text"]) <= MAX_EVENT_TEXT
    assert event["text"].startswith("%%% \n") and event["text"].endswith("\n %%%")
    assert "truncated; full evidence in the evidence file" in event["text"]
    assert len(event["aggregation_key"]) <= 100
    assert event["host"] == "seawall-eu-west-1"


def test_full_title() -> None:
    m = mapped([result(Outcome.FAIL)])
    assert m.parts["events"][0]["title"] == (
        "[Seawall] FAIL tls.min_version on api.example.com:443 (Prod EU)")


def test_aggregation_keys_stay_unique_when_cut() -> None:
    a = aggregation_key("isolation.tcp", "x" * 120 + "a")
    b = aggregation_key("isolation.tcp", "x" * 120 + "b")
    assert a != b and len(a) == len(b) == 100
    assert aggregation_key("tls.min_version", "h:443") == "seawall:tls.min_version:h:443"


def test_recovery_only_after_fail_or_error() -> None:
    key = status_key("tls.min_version", "api.example.com:443")
    events = mapped([result(Outcome.PASS)], {key: 2}).parts["events"]
    assert [e["alert_type"] for e in events] == ["success"]
    assert mapped([result(Outcome.PASS)], {key: 1}).parts["events"] == []
    assert mapped([result(Outcome.PASS)], {}).parts["events"] == []
    assert mapped([result(Outcome.FAIL)]).statuses == {key: 2}


def test_only_registered_metrics_are_sent() -> None:
    m = mapped([result(Outcome.PASS, metrics={"tls.cert.days_to_expiry": 12, "x.made_up": 1})])
    names = {s["metric"] for s in m.parts["series"]}
    assert "seawall.tls.cert.days_to_expiry" in names
    assert not any("made_up" in n for n in names)
    assert m.unregistered == {"x.made_up"}
    assert names <= set(registry.METRICS)


def test_run_gauges() -> None:
    summary = RunSummary(run=RUN, finished_at=RUN.started_at + 42,
                         counts={"pass": 3, "warn": 0, "fail": 1, "error": 2})
    m = map_run(summary, [], identity=ID, previous={}, spooled=7, dropped=2)
    by = {(s["metric"], s["tags"][-1]): s["points"][0][1] for s in m.parts["series"]}
    assert by[("seawall.run.duration", "schedule:hourly")] == 42
    assert by[("seawall.run.checks", "outcome:error")] == 2
    assert by[("seawall.report.spooled", "schedule:hourly")] == 7
    assert by[("seawall.report.dropped", "schedule:hourly")] == 2


def test_cardinality_budget() -> None:
    results = [result(Outcome.PASS, target=f"h{i}:443") for i in range(5)]
    m = mapped(results, max_contexts=3)
    assert len(m.parts["check_run"]) == 3 and m.over_budget == 2
    dropped = next(s for s in m.parts["series"] if s["metric"] == "seawall.report.dropped")
    assert dropped["points"][0][1] == 2


@pytest.mark.parametrize(("site", "url"), [
    ("", "https://api.datadoghq.com"), ("datadoghq.eu", "https://api.datadoghq.eu"),
    ("us5.datadoghq.com", "https://api.us5.datadoghq.com"),
    ("https://localhost:8443/", "https://localhost:8443"),
])
def test_site_url(site: str, url: str) -> None:
    assert site_url(site) == url


def test_report_package_imports_only_the_model() -> None:
    package = Path(seawall.report.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name.startswith("seawall"):
                    assert name == "seawall.model" or name.startswith("seawall.report"), (
                        f"{path.name} imports {name}")


def test_reprs_hide_the_key(kit: Any) -> None:
    reporter = kit.reporter()
    for shown in (repr(reporter), repr(reporter.sender), str(reporter.sender.api_key),
                  repr(reporter.spool), str(vars(reporter.sender))):
        assert kit.api_key not in shown


def test_every_gauge_the_suites_attach_is_registered() -> None:
    """A suite's ``metrics={"<suite>.x": float(...)}`` that is not in the registry would
    silently never reach Datadog: catch it here."""
    import re

    root = Path(seawall.report.__file__).parents[1]
    pattern = re.compile(r'"((?:tls|https|isolation|at_rest)\.[a-z_.]+)":\s*float\(')
    used = {m for p in root.rglob("*.py") for m in pattern.findall(p.read_text())}
    assert used <= set(registry.FINDING_METRICS), used - set(registry.FINDING_METRICS)
