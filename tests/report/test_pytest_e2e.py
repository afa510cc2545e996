"""End to end: ``pytest`` over a tiny probe file with DD_API_KEY set reports to the local
intake once per session, from the controller only (also under ``-p xdist -n 2``)."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import pytest

from seawall.lab.intake import DatadogIntake

PROBES = '''
import time
import pytest
from seawall.expect import expect
from seawall.model import Finding, Outcome

CASES = {"good.example.com:443": Outcome.PASS, "soon.example.com:443": Outcome.WARN,
         "bad.example.com:443": Outcome.FAIL, "down.example.com:443": Outcome.ERROR}

@pytest.mark.tls
@pytest.mark.parametrize("target", sorted(CASES))
def test_cert_expiry(target):
    """Certificates are renewed at least 14 days before they expire."""
    outcome = CASES[target]
    expect(Finding(check="tls.cert_expiry", target=target, outcome=outcome,
                   reason=None if outcome is Outcome.PASS else "expiring_soon",
                   summary=f"{target} outcome {outcome.value}", observed_at=time.time() - 2,
                   metrics={"tls.cert.days_to_expiry": 20.0}))

def test_deselected_sends_nothing():
    expect(Finding(check="tls.never", target="x:1", outcome=Outcome.PASS, summary="x",
                   observed_at=time.time()))
'''


def _check_arrivals(intake: DatadogIntake) -> None:
    assert intake.rejected == [] and intake.key_leaks == []
    assert Counter(r.path for r in intake.requests) == {
        "/api/v1/series": 1, "/api/v1/check_run": 1, "/api/v1/events": 2}
    statuses = {c["tags"][-1]: c["status"] for c in intake.checks}
    assert statuses == {"target:bad.example.com:443": 2, "target:down.example.com:443": 3,
                        "target:good.example.com:443": 0, "target:soon.example.com:443": 1}
    assert {e["title"] for e in intake.events} == {
        "[Seawall] FAIL tls.cert_expiry on bad.example.com:443 (staging)",
        "[Seawall] INCONCLUSIVE tls.cert_expiry on down.example.com:443 (staging)"}
    heartbeats = [s for s in intake.series if s["metric"] == "seawall.run.heartbeat"]
    assert len(heartbeats) == 1 and "schedule:nightly" in heartbeats[0]["tags"]
    days = [s for s in intake.series if s["metric"] == "seawall.tls.cert.days_to_expiry"]
    assert len(days) == 4
    assert not any("tls.never" in str(s["tags"]) for s in intake.series)


@pytest.fixture
def probes(pytester: pytest.Pytester) -> Path:
    return pytester.makepyfile(test_probes=textwrap.dedent(PROBES))


def test_pytest_reports_to_datadog(pytester: pytest.Pytester, probes: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch, api_key: str) -> None:
    with DatadogIntake(tmp_path / "intake", api_key=api_key) as intake:
        config = pytester.path / "seawall.toml"
        config.write_text(f'[seawall]\nenv = "staging"\n[datadog]\nsite = "{intake.url}"\n'
                          f'ca_file = "{intake.ca_file}"\nhost_name = "probe-1"\n')
        monkeypatch.setenv("DD_API_KEY", api_key)
        monkeypatch.delenv("DD_SITE", raising=False)
        monkeypatch.delenv("DD_ENV", raising=False)
        result = pytester.runpytest("-p", "no:randomly", "--seawall-schedule", "nightly",
                                    "--seawall-state-dir", str(tmp_path / "state"),
                                    "-k", "cert_expiry")
        assert result.parseoutcomes() == {"passed": 1, "warn": 1, "failed": 1,
                                          "inconclusive": 1, "deselected": 1}
        result.stdout.fnmatch_lines(["seawall: run *, reporters: console, evidence, datadog",
                                     f"seawall datadog: sent to {intake.url}: *"])
        assert api_key not in result.stdout.str() + result.stderr.str()
        _check_arrivals(intake)
        assert {c["host_name"] for c in intake.checks} == {"probe-1"}


def test_xdist_reports_once_from_the_controller(
        pytester: pytest.Pytester, probes: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, api_key: str) -> None:
    with DatadogIntake(tmp_path / "intake", api_key=api_key) as intake:
        (pytester.path / "seawall.toml").write_text('[seawall]\nenv = "staging"\n')
        monkeypatch.setenv("DD_API_KEY", api_key)
        monkeypatch.setenv("DD_SITE", intake.url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(intake.ca_file))
        monkeypatch.delenv("DD_ENV", raising=False)
        result = pytester.runpytest("-p", "xdist", "-n", "2", "-p", "no:randomly",
                                    "-p", "no:benchmark",
                                    "--seawall-schedule", "nightly", "-k", "cert_expiry",
                                    "--seawall-state-dir", str(tmp_path / "state"))
        assert result.ret == 1, result.stdout.str()
        _check_arrivals(intake)


def test_without_a_key_the_header_says_datadog_is_off(
        pytester: pytest.Pytester, probes: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DD_API_KEY", "DD_AGENT_HOST", "DD_DOGSTATSD_URL"):
        monkeypatch.delenv(var, raising=False)
    result = pytester.runpytest("-p", "no:randomly", "--seawall-state-dir",
                                str(tmp_path / "state"), "-k", "good")
    result.stdout.fnmatch_lines(["seawall: run *, reporters: console, evidence",
                                 "datadog: off (DD_API_KEY not set)"])
    assert not (tmp_path / "state" / "spool").exists()
