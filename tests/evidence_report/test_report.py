"""``seawall report``: claims and their proof from real evidence files, as HTML and
Markdown; the HTML page is rendered in headless Chromium to a PNG, with no console errors."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from seawall import cli
from seawall.model import CheckResult, Finding, Outcome, RunInfo, RunSummary
from seawall.report.evidence import EvidenceReporter
from seawall.report.html import promises, render_html, run_from_document

T0 = 1_763_884_800.0  # 2025-11-23 08:00 UTC
OUT = Path(os.environ.get("SEAWALL_REPORT_PNG_DIR", "")) if os.environ.get(
    "SEAWALL_REPORT_PNG_DIR") else None


def result(check: str, target: str, outcome: Outcome, at: float, summary: str,
           reason: str | None = None, claim: str = "") -> CheckResult:
    finding = Finding(check=check, target=target, outcome=outcome, summary=summary,
                      reason=reason, observed_at=at, evidence={"seen": summary, "port": 443})
    return CheckResult(finding=finding, test_id=f"probes/test_x.py::{check}", duration=0.1,
                       claim=claim)


def write_runs(directory: Path) -> None:
    """Four real evidence files: TLS degrades over time, HTTPS holds, one run times out."""
    outcomes = [Outcome.PASS, Outcome.PASS, Outcome.WARN, Outcome.FAIL]
    for i, tls in enumerate(outcomes):
        at = T0 + i * 300
        run = RunInfo(run_id=f"run{i}", started_at=at, schedule="tls")
        reporter = EvidenceReporter(directory, 400, clock=lambda: T0 + 4000)
        reporter.start(run)
        reporter.result(result(
            "tls.min_version", "api.example.com:443", tls, at + 1,
            "api.example.com:443 accepts TLSv1.1; policy public-api requires >= TLSv1.3"
            if tls is Outcome.FAIL else "api.example.com:443 accepts TLSv1.3 only",
            reason={Outcome.FAIL: "protocol_too_old", Outcome.WARN: "expiring"}.get(tls),
            claim="Public APIs accept TLS 1.3 only."))
        reporter.result(result(
            "tls.min_version", "auth.example.com:443", Outcome.PASS, at + 2,
            "auth.example.com:443 accepts TLSv1.3 only", claim="Public APIs accept TLS 1.3 only."))
        reporter.result(result(
            "https.redirect", "www.example.com:80",
            Outcome.ERROR if i == 3 else Outcome.PASS, at + 3,
            "www.example.com:80 timed out after 5s <script>alert(1)</script>" if i == 3
            else "http://www.example.com/ redirects to https (301)",
            reason="timeout" if i == 3 else None, claim="Plain HTTP redirects to HTTPS."))
        counts = {o.value: 0 for o in Outcome}
        reporter.finish(RunSummary(run=run, finished_at=at + 10, counts=counts,
                                   complete=i != 3))


@pytest.fixture
def report(tmp_path: Path) -> tuple[Path, Path]:
    write_runs(tmp_path / "evidence")
    config = tmp_path / "seawall.toml"
    config.write_text('[claims]\n"tls.min_version" = "All public APIs use TLS 1.3"\n')
    html_path, md_path = tmp_path / "report.html", tmp_path / "report.md"
    code = cli.main(["report", "--config", str(config), "--evidence", str(tmp_path / "evidence"),
                     "--days", "100000", "--html", str(html_path), "--markdown", str(md_path)])
    assert code == 0
    return html_path, md_path


def test_promises_read_as_claims_worst_first_with_history(report: tuple[Path, Path]) -> None:
    html_text = report[0].read_text()
    # the configured claim replaces the docstring; worst first (model severity: an
    # inconclusive check ranks above a broken one, as in worst())
    assert html_text.index("Plain HTTP redirects to HTTPS.") < html_text.index(
        "All public APIs use TLS 1.3")
    assert "Public APIs accept TLS 1.3 only." not in html_text
    assert html_text.count('class="strip"') == 3  # one per check and target
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text and "<script>" not in html_text
    assert "1 run(s) incomplete (timed out or stopped)" in html_text
    assert "http" not in html_text.split("<body>")[0].replace("http://www", "")  # no links out


def test_markdown_has_the_same_content(report: tuple[Path, Path]) -> None:
    md = report[1].read_text()
    assert "## [FAIL] All public APIs use TLS 1.3" in md
    assert ("| `api.example.com:443` | FAIL | 2025-11-23 08:15 UTC | api.example.com:443 "
            "accepts TLSv1.1; policy public-api requires >= TLSv1.3 [protocol_too_old] "
            "| `PPWF` |") in md
    assert "| `auth.example.com:443` | pass |" in md and "`PPPP`" in md
    assert "## [inconclusive] Plain HTTP redirects to HTTPS." in md
    assert md.index("[inconclusive]") < md.index("[FAIL]")


def test_claims_fall_back_to_the_probe_docstring(tmp_path: Path) -> None:
    write_runs(tmp_path)
    import json
    runs = [run_from_document(json.loads(p.read_text())) for p in tmp_path.glob("*.json")]
    found = promises(runs, {})
    assert [p.claim for p in found] == [
        "Plain HTTP redirects to HTTPS.", "Public APIs accept TLS 1.3 only."]
    assert [p.outcome for p in found] == [Outcome.ERROR, Outcome.FAIL]


def test_unreadable_evidence_files_are_named_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_runs(tmp_path / "ev")
    (tmp_path / "ev" / "20990101T000000Z-broken.json").write_text("{not json")
    code = cli.main(["report", "--evidence", str(tmp_path / "ev"), "--days", "100000",
                     "--html", str(tmp_path / "r.html"), "--markdown", str(tmp_path / "r.md")])
    assert code == 0
    out, err = capsys.readouterr()
    assert err.startswith(f"seawall report: skipped {tmp_path}/ev/20990101T000000Z-broken.json")
    assert out.startswith("2 promise(s) from 4 run(s)")


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("SEAWALL_REQUIRE_PRIVILEGED") == "1":
            pytest.fail("chromium is missing (it is in .ci/packages.apt)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def render(page: Path, png: Path, tmp_path: Path) -> list[str]:
    """Render ``page`` to ``png`` in headless Chromium; return its console messages."""
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr",
        "--v=0", "--hide-scrollbars", "--window-size=1280,1500", f"--screenshot={png}",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.slow
def test_page_renders_in_chromium_without_console_errors(
    report: tuple[Path, Path], tmp_path: Path
) -> None:
    # Positive control: the same detector sees an error a page does log.
    control = tmp_path / "control.html"
    control.write_text("<!doctype html><script>console.error('control-error')</script>")
    assert any("control-error" in line for line in render(control, tmp_path / "c.png", tmp_path))

    png = (OUT or tmp_path) / "seawall-report.png"
    assert render(report[0], png, tmp_path) == []
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000


def test_empty_report_is_still_a_page(tmp_path: Path) -> None:
    page = render_html([], [], generated_at=T0)
    assert "No results in the evidence files read." in page
    assert "from no evidence files" in page
