"""Reporters: where results go. They know the result model and nothing of how a finding
was made (this package imports only :mod:`seawall.model`, a test keeps it so).

A reporter receives, in order: ``start(run)`` once, ``result(r)`` for every finished
check, ``finish(summary)`` once. ``finish`` must not raise for a delivery problem: it
keeps what it could not deliver (see ``spool``) and says so in ``status()``.
"""

from __future__ import annotations

from typing import Protocol

from seawall.model import CheckResult, RunInfo, RunSummary


class Reporter(Protocol):
    """Receives a run's results. ``name`` appears in the run header."""

    name: str

    def start(self, run: RunInfo) -> None:
        """A run begins."""
        ...

    def result(self, result: CheckResult) -> None:
        """One check finished."""
        ...

    def finish(self, summary: RunSummary) -> None:
        """The run ended: flush, deliver, keep what could not be delivered."""
        ...

    def status(self) -> str:
        """One line for the terminal summary (``evidence: .seawall/evidence/x.json``)."""
        ...
