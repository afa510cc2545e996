"""Evidence for people: claims and their proof, from the evidence files of recent runs.

Pure: the caller reads the files (:mod:`seawall.evidence_cli`) and passes their JSON.
:func:`promises` groups results into :class:`Promise` s: a claim ("All public APIs use
TLS 1.3", from the config's ``[claims]`` or the probe's docstring), the checks that back
it and, per check and target, the latest result (time, summary, evidence) and a history
strip. :func:`render_html` makes one self-contained page (inline CSS, no scripts, no
external resources); :mod:`seawall.report.markdown` renders the same for Markdown.
Promises are ordered worst first, so a broken one is at the top.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from seawall.model import JSON, CheckResult, Outcome, RunInfo, worst

LABELS = {Outcome.PASS: "pass", Outcome.WARN: "warn", Outcome.FAIL: "FAIL",
          Outcome.ERROR: "inconclusive"}


@dataclass(frozen=True, kw_only=True)
class Run:
    """One evidence file: the run's identity, how it ended, and its results."""

    info: RunInfo
    finished_at: float
    complete: bool
    results: tuple[CheckResult, ...]


def run_from_document(doc: Mapping[str, JSON]) -> Run:
    """Inverse of :func:`seawall.report.evidence.run_document` (raises on a bad doc)."""
    info = RunInfo(**{k: v for k, v in doc["run"].items() if k in RunInfo.__dataclass_fields__})
    summary = doc.get("summary") or {}
    return Run(
        info=info,
        finished_at=float(summary.get("finished_at", info.started_at)),
        complete=bool(summary.get("complete", False)),
        results=tuple(CheckResult.from_json(r) for r in doc.get("results", [])),
    )


@dataclass(frozen=True, kw_only=True)
class TargetHistory:
    """One check on one target: its results oldest first; ``latest`` is the last."""

    target: str
    results: tuple[CheckResult, ...]

    @property
    def latest(self) -> CheckResult:
        """The most recent result."""
        return self.results[-1]


@dataclass(frozen=True, kw_only=True)
class Promise:
    """A claim and the checks that back it, each with its targets' histories."""

    claim: str
    checks: Mapping[str, tuple[TargetHistory, ...]] = field(default_factory=dict)

    @property
    def outcome(self) -> Outcome:
        """The worst latest outcome over every check and target."""
        return worst([t.latest.finding.outcome for ts in self.checks.values() for t in ts])


def promises(runs: Iterable[Run], claims: Mapping[str, str], *,
             history: int = 30) -> list[Promise]:
    """Group the runs' results by claim, check and target; keep ``history`` results each."""
    by_key: dict[tuple[str, str], list[CheckResult]] = {}
    claim_of: dict[str, str] = {}
    for run in sorted(runs, key=lambda r: r.info.started_at):
        for result in run.results:
            check = result.finding.check
            by_key.setdefault((check, result.finding.target), []).append(result)
            claim_of[check] = claims.get(check) or result.claim or claim_of.get(check, "")
    grouped: dict[str, dict[str, list[TargetHistory]]] = {}
    for (check, target), results in sorted(by_key.items()):
        ordered = tuple(sorted(results, key=lambda r: r.finding.observed_at)[-history:])
        claim = claim_of[check] or f"{check} (no claim configured)"
        grouped.setdefault(claim, {}).setdefault(check, []).append(
            TargetHistory(target=target, results=ordered))
    found = [Promise(claim=c, checks={k: tuple(v) for k, v in checks.items()})
             for c, checks in grouped.items()]
    return sorted(found, key=lambda p: (-p.outcome.severity, p.claim))


def utc(when: float) -> str:
    """A Unix time as ``2025-01-01 10:00 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(when))


CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1d2430;background:#fff}
h1{font-size:1.6rem;margin:0 0 .2rem}.meta{color:#5b6472;margin:0 0 1.5rem}
section{border:1px solid #d8dde5;border-radius:8px;margin:0 0 1.2rem;padding:.8rem 1rem}
section h2{font-size:1.15rem;margin:.1rem 0 .6rem;display:flex;gap:.6rem;align-items:center}
h3{font-size:.95rem;margin:.8rem 0 .3rem;font-family:ui-monospace,monospace;color:#3b4452}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;
border-top:1px solid #eef0f4;vertical-align:top}th{font-size:.8rem;color:#5b6472}
.badge{font-size:.75rem;font-weight:700;padding:.1rem .45rem;border-radius:4px;color:#fff;
white-space:nowrap}.pass{background:#1f7a3f}.warn{background:#a86200}.fail{background:#c0262d}
.error{background:#6b4bb8}.strip{display:flex;gap:2px}.strip span{width:9px;height:18px;
border-radius:2px;display:inline-block}code{font-size:.85rem}
details summary{cursor:pointer;color:#3b4452;font-size:.85rem}
pre{background:#f5f7fa;padding:.5rem;border-radius:4px;overflow:auto;max-height:16rem;
font-size:.8rem}.when{white-space:nowrap}.since{color:#5b6472;font-size:.8rem}
.legend{color:#5b6472;font-size:.85rem;margin:-1rem 0 1.5rem}
.legend span.key{display:inline-block;width:9px;height:12px;border-radius:2px;
margin:0 .25rem 0 .6rem}
"""


def _badge(outcome: Outcome) -> str:
    return f'<span class="badge {outcome.value}">{LABELS[outcome]}</span>'


def _strip(results: Sequence[CheckResult]) -> str:
    cells = "".join(
        f'<span class="{r.finding.outcome.value}" title="{html.escape(utc(r.finding.observed_at))}'
        f': {html.escape(r.finding.outcome.value)}"></span>'
        for r in results
    )
    return f'<div class="strip" aria-label="history, oldest first">{cells}</div>'


def last_pass(t: TargetHistory) -> float | None:
    """When the check last passed on this target, within the history (None: never)."""
    passes = [r.finding.observed_at for r in t.results if r.finding.outcome is Outcome.PASS]
    return max(passes, default=None)


LEGEND = ('<p class="legend">History, oldest to newest:' + "".join(
    f'<span class="key {o.value}"></span>{LABELS[o]}' for o in Outcome) + "</p>")


def _row(t: TargetHistory) -> str:
    f = t.latest.finding
    reason = f" <code>[{html.escape(f.reason)}]</code>" if f.reason else ""
    evidence = html.escape(json.dumps(dict(f.evidence), indent=1, sort_keys=True))
    since = ""
    if f.outcome is not Outcome.PASS:
        good = last_pass(t)
        since = (f'<div class="since">last pass {html.escape(utc(good))}</div>' if good
                 else '<div class="since">no pass in this window</div>')
    return (
        f"<tr><td><code>{html.escape(t.target)}</code></td><td>{_badge(f.outcome)}</td>"
        f'<td class="when">{html.escape(utc(f.observed_at))}{since}</td>'
        f"<td>{html.escape(f.summary)}{reason}<details><summary>evidence</summary>"
        f"<pre>{evidence}</pre></details></td><td>{_strip(t.results)}</td></tr>"
    )


def render_html(found: Sequence[Promise], runs: Sequence[Run], *, generated_at: float,
                title: str = "Seawall: security claims and their evidence") -> str:
    """The whole page as one self-contained HTML document."""
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8>"
             f"<meta name=viewport content='width=device-width'>"
             f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f'<p class="meta">{html.escape(coverage_line(runs, generated_at))}</p>', LEGEND]
    if not found:
        parts.append("<p>No results in the evidence files read.</p>")
    for promise in found:
        parts.append(f"<section><h2>{_badge(promise.outcome)} {html.escape(promise.claim)}</h2>")
        for check, targets in promise.checks.items():
            parts.append(f"<h3>{html.escape(check)}</h3><table><tr><th>target</th><th>last"
                         "</th><th>at</th><th>what we saw</th><th>history</th></tr>")
            parts.extend(_row(t) for t in targets)
            parts.append("</table>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def coverage_line(runs: Sequence[Run], generated_at: float) -> str:
    """One sentence: when generated, from how many runs, the time span, incomplete runs."""
    if not runs:
        return f"Generated {utc(generated_at)} from no evidence files."
    first = min(r.info.started_at for r in runs)
    last = max(r.finished_at for r in runs)
    incomplete = sum(1 for r in runs if not r.complete)
    tail = f"; {incomplete} run(s) incomplete (timed out or stopped)" if incomplete else ""
    return (f"Generated {utc(generated_at)} from {len(runs)} run(s), "
            f"{utc(first)} to {utc(last)}{tail}.")
