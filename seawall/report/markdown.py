"""The claims-and-evidence report as Markdown (for a ticket, a wiki or an audit folder).

Same content as :mod:`seawall.report.html`: each promise, worst first, its checks, per
target the latest outcome with time, summary and reason, and a history strip of
letters (``P`` pass, ``W`` warn, ``F`` fail, ``E`` inconclusive), oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence

from seawall.model import Outcome
from seawall.report.html import LABELS, Promise, Run, coverage_line, utc

LETTERS = {Outcome.PASS: "P", Outcome.WARN: "W", Outcome.FAIL: "F", Outcome.ERROR: "E"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(found: Sequence[Promise], runs: Sequence[Run], *, generated_at: float,
                    title: str = "Seawall: security claims and their evidence") -> str:
    """The whole report as Markdown text."""
    lines = [f"# {title}", "", coverage_line(runs, generated_at), ""]
    if not found:
        lines += ["No results in the evidence files read.", ""]
    for promise in found:
        lines += [f"## [{LABELS[promise.outcome]}] {_cell(promise.claim)}", ""]
        for check, targets in promise.checks.items():
            lines += [f"### `{check}`", "", "| target | last | at | what we saw | history |",
                      "|---|---|---|---|---|"]
            for t in targets:
                f = t.latest.finding
                reason = f" [{f.reason}]" if f.reason else ""
                strip = "".join(LETTERS[r.finding.outcome] for r in t.results)
                lines.append(
                    f"| `{_cell(t.target)}` | {LABELS[f.outcome]} | {utc(f.observed_at)} | "
                    f"{_cell(f.summary)}{_cell(reason)} | `{strip}` |")
            lines.append("")
    return "\n".join(lines)
