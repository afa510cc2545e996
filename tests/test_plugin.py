"""The pytest plugin end to end, through pytester and a small suite written for the test.

The suite below is real code run by a real inner pytest session: it exercises
parametrization by target id, lazy gathering of the selected targets only, the
outcome mapping of expect(), findings on reports, the evidence file and the
privileged skip.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from seawall import suites

SUITE = '''
import contextlib
from dataclasses import dataclass
from seawall.model import Finding, Outcome
from seawall.suites import Plan

@dataclass(frozen=True)
class Target:
    id: str

GATHERED = []

class DemoSuite:
    name = "tls"
    kind = "endpoint"

    def plan(self, config):
        targets = tuple(Target(t) for t in ("ok:1", "warn:2", "bad:3", "down:4"))
        return Plan(suite="tls", targets=targets, policies={t.id: "p" for t in targets})

    def gather(self, plan, targets, config, resources):
        GATHERED.append(sorted(t.id for t in targets))
        resources.callback(GATHERED.append, "closed")
        return {t.id: t.id.split(":")[0] for t in targets}

def judge(facts, target):
    outcome = {"ok": Outcome.PASS, "warn": Outcome.WARN, "bad": Outcome.FAIL,
               "down": Outcome.ERROR}[facts]
    reason = {"ok": None, "warn": "expiring_soon", "bad": "expired", "down": "timeout"}[facts]
    return Finding(check="tls.demo", target=target.id, outcome=outcome, reason=reason,
                   summary=f"{target.id} is {facts}", observed_at=1700000000.0,
                   evidence={"seen": facts}, metrics={"tls.cert.days_to_expiry": 3})

SUITE = DemoSuite()

class Unavailable(DemoSuite):
    kind = "cell"
    def plan(self, config):
        return Plan(suite="isolation", unavailable="needs root to build network namespaces")

UNAVAILABLE = Unavailable()
'''

PROBE = '''
import pytest
import demosuite
from seawall.expect import expect

@pytest.mark.tls
def test_demo(endpoint, facts, policy):
    """Every endpoint keeps its demo promise."""
    assert policy == "p"
    expect(demosuite.judge(facts, endpoint))
'''


@pytest.fixture
def demo(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(demosuite=SUITE, test_probe=PROBE)
    pytester.syspathinsert()
    monkeypatch.setitem(suites.KINDS, "endpoint", "demosuite:SUITE")
    monkeypatch.setitem(suites.KINDS, "cell", "demosuite:UNAVAILABLE")
    monkeypatch.delenv("SEAWALL_CONFIG", raising=False)
    monkeypatch.delenv("SEAWALL_REQUIRE_PRIVILEGED", raising=False)
    pytester.makeini("[pytest]\nmarkers =\n    tls: t\n")
    return pytester


def _evidence(pytester: pytest.Pytester) -> dict:
    files = list((pytester.path / "state" / "evidence").glob("*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


def test_outcomes_map_to_pytest_and_evidence(demo: pytest.Pytester) -> None:
    result = demo.runpytest("-v", "--seawall-state-dir", "state")
    # warn counts as passed and inconclusive as failed, shown under their own names
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*test_demo?ok:1? PASSED*",
        "*test_demo?warn:2? WARN*",
        "*test_demo?bad:3? FAILED*",
        "*test_demo?down:4? INCONCLUSIVE*",
        "*seawall results: 1 pass, 1 warn, 1 fail, 1 error (4 checks)*",
        "*ERROR tls.demo down:4 ?timeout?: down:4 is down*",
        "*FAIL  tls.demo bad:3 ?expired?: bad:3 is bad*",
        "*1 failed, 1 passed, 1 warn, 1 inconclusive in *",
    ])
    assert result.ret == 1
    doc = _evidence(demo)
    by_target = {r["target"]: r for r in doc["results"]}
    assert by_target["down:4"]["outcome"] == "error"
    assert by_target["bad:3"]["reason"] == "expired"
    assert by_target["ok:1"]["claim"] == "Every endpoint keeps its demo promise."
    assert by_target["warn:2"]["metrics"] == {"tls.cert.days_to_expiry": 3}
    assert doc["summary"]["counts"] == {"pass": 1, "warn": 1, "fail": 1, "error": 1}


def test_only_selected_targets_are_gathered_and_resources_closed(demo: pytest.Pytester) -> None:
    import demosuite  # the module the inner session imported

    demosuite.GATHERED.clear()
    result = demo.runpytest("-k", "ok or warn", "--seawall-state-dir", "state")
    result.assert_outcomes(passed=1, deselected=2)
    assert demosuite.GATHERED == [["ok:1", "warn:2"], "closed"]


def test_findings_ride_on_junitxml_properties(demo: pytest.Pytester) -> None:
    demo.runpytest("--junitxml=out.xml", "--seawall-state-dir", "state", "-k", "bad")
    xml = (demo.path / "out.xml").read_text()
    assert 'name="seawall.finding"' in xml
    assert "expired" in xml


def test_unavailable_suite_skips_with_its_reason(demo: pytest.Pytester) -> None:
    demo.makepyfile(test_cells='''
import pytest
@pytest.mark.tls
def test_cell(cell, facts):
    """never runs"""
''')
    result = demo.runpytest("-rs", "test_cells.py", "--seawall-state-dir", "state")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs root to build network namespaces*"])


def test_unavailable_suite_fails_when_privileged_runs_are_required(
    demo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo.makepyfile(test_cells='''
import pytest
@pytest.mark.tls
def test_cell(cell, facts):
    """never runs"""
''')
    monkeypatch.setenv("SEAWALL_REQUIRE_PRIVILEGED", "1")
    result = demo.runpytest("test_cells.py", "--seawall-state-dir", "state")
    result.assert_outcomes(errors=1)  # fails in setup, so pytest counts an error
    result.stdout.fnmatch_lines(["*SEAWALL_REQUIRE_PRIVILEGED=1 but this would skip*"])


def test_crashing_probe_is_an_error_finding_not_silence(demo: pytest.Pytester) -> None:
    demo.makepyfile(test_probe=PROBE.replace("expect(", "1/0; expect("))
    result = demo.runpytest("--seawall-state-dir", "state", "-k", "ok")
    result.assert_outcomes(failed=1)
    (only,) = _evidence(demo)["results"]
    assert only["outcome"] == "error"
    assert only["reason"] == "probe_crashed"
    assert only["check"] == "tls.demo"
    assert only["target"] == "ok:1"


def test_bad_config_is_a_usage_error_with_one_line(demo: pytest.Pytester) -> None:
    demo.path.joinpath("bad.toml").write_text("[seawall]\ntimeout = 'soon'\n")
    result = demo.runpytest("--seawall-config", "bad.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: bad.toml: seawall.timeout: expected a number, got a string 'soon'"]
    )
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_missing_explicit_config_names_the_flag(demo: pytest.Pytester) -> None:
    result = demo.runpytest("--seawall-config", "nope.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --seawall-config: 'nope.toml' is not a readable file (check the path*"]
    )


def test_header_says_the_lab_is_probed(demo: pytest.Pytester) -> None:
    result = demo.runpytest("--co", "-q", "--seawall-state-dir", "state")
    assert result.ret == 0
    demo.makepyfile(test_other="def test_x(): pass")
    result = demo.runpytest("test_other.py", "--seawall-state-dir", "state")
    result.stdout.fnmatch_lines(["seawall: config embedded lab (no seawall.toml*"])


def test_privileged_marker_skips_without_root(demo: pytest.Pytester) -> None:
    import os

    demo.makepyfile(test_root=textwrap.dedent('''
        import pytest
        @pytest.mark.privileged
        def test_needs_root():
            pass
    '''))
    demo.makeini("[pytest]\nmarkers =\n    tls: t\n")
    result = demo.runpytest("test_root.py", "--seawall-state-dir", "state", "-rs")
    if os.geteuid() == 0:
        result.assert_outcomes(passed=1)
    else:
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines(["*needs root*"])


def test_sigterm_stops_probe_runs_cleanly_and_is_restored(demo: pytest.Pytester) -> None:
    import signal

    demo.makepyfile(test_signal='''
import signal
import pytest

@pytest.mark.tls
def test_handler_installed(endpoint):
    """SIGTERM ends a probe run like Ctrl-C."""
    assert signal.getsignal(signal.SIGTERM).__name__ == "interrupt"

def test_plain():
    pass
''')
    before = signal.getsignal(signal.SIGTERM)
    result = demo.runpytest("test_signal.py", "--seawall-state-dir", "state", "-k", "ok")
    result.assert_outcomes(passed=1, deselected=4)
    assert signal.getsignal(signal.SIGTERM) is before

    plain = demo.runpytest("test_signal.py", "-k", "plain", "--seawall-state-dir", "state")
    plain.assert_outcomes(passed=1, deselected=4)
    assert signal.getsignal(signal.SIGTERM) is before
