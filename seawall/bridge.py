"""The reporter bridge: pytest reports in, CheckResults out to every reporter.

Modelled on pytest's own junitxml plugin: registered in ``pytest_configure`` on the
xdist controller only (workers just attach findings to their reports), state kept under
a StashKey, data read from ``user_properties`` as plain JSON. Custom outcomes are shown
through ``pytest_report_teststatus``, the way xfail is: ``W``/``WARN`` for a warn,
``I``/``INCONCLUSIVE`` for an error finding.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import seawall
from seawall.config import Config
from seawall.expect import PROPERTY
from seawall.model import CheckResult, Finding, Outcome, RunInfo, RunSummary, worst
from seawall.report import Reporter
from seawall.report.console import ConsoleReporter
from seawall.report.evidence import EvidenceReporter

BRIDGE_KEY = pytest.StashKey["ReporterBridge"]()
SUITE_MARKERS = ("tls", "https", "isolation", "at_rest")


def findings_of(report: pytest.TestReport) -> list[Finding]:
    """The findings a test attached to its report."""
    return [Finding.from_json(v) for k, v in report.user_properties if k == PROPERTY]  # type: ignore[arg-type]


def reporters_for(config: Config, state_dir: Path) -> list[Reporter]:
    """The reporters a run uses: console and evidence always; Datadog when configured."""
    reporters: list[Reporter] = [
        ConsoleReporter(),
        EvidenceReporter(state_dir / "evidence", config.general.evidence_retention_days),
    ]
    if any(os.environ.get(v) for v in ("DD_API_KEY", "DD_AGENT_HOST", "DD_DOGSTATSD_URL")):
        from seawall.report.datadog import DatadogReporter

        reporters.append(DatadogReporter.create(state_dir=state_dir, environ=os.environ,
                                                **vars(config.datadog)))
    return reporters


class ReporterBridge:
    """Feeds every reporter; one instance per session, on the controller."""

    def __init__(self, run: RunInfo, reporters: list[Reporter]) -> None:
        self.run = run
        self.reporters = reporters
        self.results: list[CheckResult] = []
        self._claims: dict[str, str] = {}
        self._started = False

    @classmethod
    def from_pytest(cls, pytest_config: pytest.Config, config: Config) -> ReporterBridge:
        """Build the run identity and the reporters from options and config."""
        state_dir = Path(pytest_config.getoption("seawall_state_dir") or config.general.state_dir)
        run = RunInfo(
            # the scheduler names the run, so its log, the evidence and Datadog agree
            run_id=os.environ.get("SEAWALL_RUN_ID") or uuid.uuid4().hex[:12],
            started_at=time.time(),
            env=os.environ.get("DD_ENV") or config.general.env,
            location=config.general.location,
            team=config.general.team,
            schedule=pytest_config.getoption("seawall_schedule"),
            version=seawall.__version__,
            config_source=config.source,
        )
        bridge = cls(run, reporters_for(config, state_dir))
        bridge._claims = dict(config.claims)
        return bridge

    def header(self) -> list[str]:
        """Lines for the pytest header: run id and each reporter's status."""
        names = ", ".join(r.name for r in self.reporters)
        off = [] if any(r.name == "datadog" for r in self.reporters) else [
            "datadog: off (DD_API_KEY not set)"]
        return [f"seawall: run {self.run.run_id}, reporters: {names}", *off]

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        for reporter in self.reporters:
            reporter.start(self.run)
        self._started = True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # item.user_properties ride on every phase's report: read findings from the
        # call phase only, and look for crashes in any failed phase.
        findings = findings_of(report) if report.when == "call" else []
        if not findings:
            crashed = self._crash_finding(report)
            if crashed is None:
                return
            findings = [crashed]
        claim = str(next((v for k, v in report.user_properties if k == "seawall.claim"), ""))
        for finding in findings:
            result = CheckResult(
                finding=finding,
                test_id=report.nodeid,
                duration=report.duration,
                claim=self._claims.get(finding.check, claim),
            )
            self.results.append(result)
            for reporter in self.reporters:
                reporter.result(result)

    def _crash_finding(self, report: pytest.TestReport) -> Finding | None:
        """A probe that failed without a finding (a bug, a fixture error) is an error of
        that check on that target, never silently dropped."""
        if not report.failed or not any(m in report.keywords for m in SUITE_MARKERS):
            return None
        name = report.nodeid.split("::")[-1]
        function, _, target = name.partition("[")
        suite = next(m for m in SUITE_MARKERS if m in report.keywords)
        text = str(report.longrepr).strip().splitlines()
        return Finding(
            check=f"{suite}.{function.removeprefix('test_')}",
            target=target.rstrip("]") or "-",
            outcome=Outcome.ERROR,
            reason="probe_crashed",
            summary=f"probe crashed in {report.when}: {text[-1] if text else 'no detail'}",
            observed_at=time.time(),
            evidence={"traceback": "\n".join(text[-30:])},
        )

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, Any] | None:
        if report.when != "call":
            return None
        findings = findings_of(report)
        if not findings:
            return None
        outcome = worst([f.outcome for f in findings])
        if report.passed and outcome is Outcome.WARN:
            return "warn", "W", ("WARN", {"yellow": True})
        if report.failed and outcome is Outcome.ERROR:
            return "inconclusive", "I", ("INCONCLUSIVE", {"purple": True})
        return None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results:
            return
        for reporter in self.reporters:
            if isinstance(reporter, ConsoleReporter):
                for line in reporter.lines():
                    terminalreporter.write_line(line)
        for reporter in self.reporters:
            terminalreporter.write_line(f"seawall {reporter.name}: {reporter.status()}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self._started or not self.results:
            return  # not a probe run (no Seawall checks ran): nothing to report
        counts = Counter(r.finding.outcome.value for r in self.results)
        summary = RunSummary(
            run=self.run,
            finished_at=time.time(),
            counts={o.value: counts.get(o.value, 0) for o in Outcome},
            complete=exitstatus in (0, 1) and not session.shouldstop,
        )
        for reporter in self.reporters:
            reporter.finish(summary)
