"""The console summary: what broke, on what, why; one line each, worst first."""

from __future__ import annotations

from seawall.model import CheckResult, Outcome, RunInfo, RunSummary


class ConsoleReporter:
    """Keeps the run's results and renders the terminal summary section."""

    name = "console"

    def __init__(self) -> None:
        self.results: list[CheckResult] = []
        self.summary: RunSummary | None = None

    def start(self, run: RunInfo) -> None:
        """Nothing to prepare."""

    def result(self, result: CheckResult) -> None:
        """Remember the result for the summary."""
        self.results.append(result)

    def finish(self, summary: RunSummary) -> None:
        """Remember the run's counts."""
        self.summary = summary

    def lines(self) -> list[str]:
        """The summary: counts by outcome, then every non-pass finding, worst first."""
        if not self.results:
            return []
        counts = {o: 0 for o in Outcome}
        for r in self.results:
            counts[r.finding.outcome] += 1
        head = ", ".join(f"{n} {o.value}" for o, n in counts.items() if n)
        out = [f"seawall results: {head} ({len(self.results)} checks)"]
        bad = sorted(
            (r for r in self.results if r.finding.outcome is not Outcome.PASS),
            key=lambda r: (-r.finding.outcome.severity, r.finding.check, r.finding.target),
        )
        for r in bad:
            f = r.finding
            label = f.outcome.value.upper()
            out.append(f"  {label:5} {f.check} {f.target} [{f.reason}]: {f.summary}")
        return out

    def status(self) -> str:
        """How many results were shown."""
        return f"{len(self.results)} results"
