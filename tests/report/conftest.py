"""Fixtures for the Datadog reporter tests: runs and leak checks (the intake and the
API key fixtures are in tests/conftest.py)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seawall.lab.intake import DatadogIntake
from seawall.model import CheckResult, Finding, Outcome, RunInfo, RunSummary
from seawall.report.datadog import DatadogReporter


@pytest.fixture(autouse=True)
def fresh_client(datadog_client_reset: None) -> None:
    """Every test here starts with the datadog client's class state reset."""


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture(autouse=True)
def no_key_anywhere(api_key: str, tmp_path: Path,
                    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
                    ) -> Iterator[None]:
    """After every test: the API key is in no log record, no output, no file we wrote."""
    caplog.set_level("DEBUG")
    yield
    key = api_key
    out, err = capsys.readouterr()
    assert key not in out + err
    logged = [r.getMessage() for when in ("setup", "call") for r in caplog.get_records(when)]
    assert not any(key in line for line in logged)
    for path in tmp_path.rglob("*"):
        if path.is_file() and "pki" not in path.parts:
            assert key.encode() not in path.read_bytes(), path


class Kit:
    """Helpers for tests (importlib mode: tests cannot import conftest), via ``kit``."""

    def __init__(self, state_dir: Path, intake: DatadogIntake | None, api_key: str) -> None:
        self.state_dir = state_dir
        self.intake = intake
        self.api_key = api_key

    def finding(self, *args: Any, **kw: Any) -> Finding:
        return finding(*args, **kw)

    def reporter(self, **kw: Any) -> DatadogReporter:
        return make_reporter(self.state_dir, self.intake, self.api_key, **kw)

    def run(self, reporter: DatadogReporter, findings: list[Finding], **kw: Any) -> RunSummary:
        return run(reporter, findings, **kw)


@pytest.fixture
def kit(state_dir: Path, intake: DatadogIntake, api_key: str) -> Kit:
    return Kit(state_dir, intake, api_key)


def finding(check: str = "tls.min_version", target: str = "api.example.com:443",
            outcome: Outcome = Outcome.PASS, *, ago: float = 5.0, **kw: Any) -> Finding:
    """A finding observed ``ago`` seconds ago."""
    reason = None if outcome is Outcome.PASS else kw.pop("reason", "protocol_too_old")
    return Finding(check=check, target=target, outcome=outcome, reason=reason,
                   summary=kw.pop("summary", f"{target} {outcome.value}"),
                   observed_at=time.time() - ago, **kw)


def make_reporter(state_dir: Path, intake: DatadogIntake | None, api_key: str, *,
                  url: str | None = None, **settings: Any) -> DatadogReporter:
    """A reporter as the bridge builds it, pointed at the intake (or ``url``)."""
    environ = {"DD_API_KEY": api_key, "DD_SITE": url or (intake.url if intake else "")}
    settings.setdefault("ca_file", intake.ca_file if intake else None)
    settings.setdefault("timeout", 2.0)
    return DatadogReporter.create(state_dir=state_dir, environ=environ, **settings)


def run(reporter: DatadogReporter, findings: list[Finding], *, run_id: str = "",
        started: float | None = None) -> RunSummary:
    """One whole run through the Reporter protocol: start, results, finish."""
    info = RunInfo(run_id=run_id or secrets.token_hex(6), started_at=started or time.time(),
                   env="test", team="sec", location="lab", schedule="hourly",
                   version="0.1.0")
    reporter.start(info)
    for f in findings:
        reporter.result(CheckResult(finding=f, test_id=f"probes/test_x.py::t[{f.target}]",
                                    duration=0.25, claim="a promise"))
    counts = {o.value: sum(f.outcome is o for f in findings) for o in Outcome}
    summary = RunSummary(run=info, finished_at=time.time(), counts=counts)
    reporter.finish(summary)
    return summary
