"""The result model shared by every suite and every reporter. Plain data, no I/O.

A check on a target ends as exactly one :class:`Outcome`:

- ``pass``: we looked and the promise holds;
- ``warn``: it holds, but something needs attention soon (a certificate expiring);
- ``fail``: we looked and the promise is broken;
- ``error``: inconclusive, we could not look (timeout, refused, a failed positive
  control). An error is never a pass.

A :class:`Finding` is what a rule judged; a :class:`CheckResult` is a finding as the
run saw it (with the test that produced it and its duration), which is what reporters
receive. Both round-trip through plain JSON so they can ride on pytest's
``user_properties`` and be spooled to disk.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

JSON = Any  # a value json.dumps accepts: dict/list/str/int/float/bool/None


class Outcome(enum.StrEnum):
    """How a check ended. Ordered by severity: ``worst()`` picks the highest."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    @property
    def severity(self) -> int:
        """0 pass, 1 warn, 2 fail, 3 error: also the Datadog service-check status."""
        return _SEVERITY[self]


_SEVERITY = {Outcome.PASS: 0, Outcome.WARN: 1, Outcome.FAIL: 2, Outcome.ERROR: 3}


def worst(outcomes: list[Outcome] | tuple[Outcome, ...]) -> Outcome:
    """The most severe outcome of several; ``pass`` for none."""
    return max(outcomes, key=lambda o: o.severity, default=Outcome.PASS)


def _check_json(value: JSON, where: str) -> None:
    """Reject values that would not survive a JSON round trip (NaN, sets, objects)."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not finite")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            _check_json(item, f"{where}.{key}")
        return
    raise ValueError(f"{where}: {type(value).__name__} is not plain JSON")


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One judgement of one check on one target.

    ``check`` is the stable check id (``tls.min_version``), ``target`` the stable target
    id (``api.example.com:443``). ``summary`` is one line a person on call understands.
    ``reason`` is a snake_case reason (``expired``, ``timeout``) for anything but a plain
    pass; it is what alerts group on. ``evidence`` holds the measured facts (plain
    JSON), ``metrics`` numeric gauges a monitor can threshold on (name without the
    ``seawall.`` prefix, e.g. ``tls.cert.days_to_expiry``). ``observed_at`` is the Unix
    time the facts were measured, never the time of reporting.
    """

    check: str
    target: str
    outcome: Outcome
    summary: str
    observed_at: float
    reason: str | None = None
    evidence: Mapping[str, JSON] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.check or "." not in self.check:
            raise ValueError(f"check id {self.check!r} must look like '<suite>.<promise>'")
        if self.outcome is not Outcome.PASS and not self.reason:
            raise ValueError(f"{self.check} on {self.target}: a {self.outcome} needs a reason")
        _check_json(dict(self.evidence), "evidence")
        for name, number in self.metrics.items():
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise ValueError(f"metric {name}: {number!r} is not a number")
            if not math.isfinite(number):
                raise ValueError(f"metric {name}: {number!r} is not finite")

    @property
    def suite(self) -> str:
        """The suite the check belongs to: the part of the check id before the dot."""
        return self.check.split(".", 1)[0]

    def to_json(self) -> dict[str, JSON]:
        """Plain JSON for ``user_properties``, spool and evidence files."""
        return {
            "check": self.check,
            "target": self.target,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "summary": self.summary,
            "observed_at": self.observed_at,
            "evidence": dict(self.evidence),
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> Finding:
        """Inverse of :meth:`to_json`."""
        return cls(
            check=data["check"],
            target=data["target"],
            outcome=Outcome(data["outcome"]),
            reason=data.get("reason"),
            summary=data["summary"],
            observed_at=float(data["observed_at"]),
            evidence=dict(data.get("evidence") or {}),
            metrics=dict(data.get("metrics") or {}),
        )

    def with_outcome(self, outcome: Outcome, reason: str | None, summary: str) -> Finding:
        """A copy judged differently (used by policies that soften or harden a rule)."""
        return replace(self, outcome=outcome, reason=reason, summary=summary)


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """A finding as the run saw it: what reporters receive.

    ``test_id`` is the pytest node id that produced it, ``duration`` the seconds the
    test took, ``claim`` the human promise the check backs (its docstring or the
    configured claim).
    """

    finding: Finding
    test_id: str
    duration: float
    claim: str = ""

    def to_json(self) -> dict[str, JSON]:
        """Plain JSON: the finding's fields plus test id, duration and claim."""
        return {
            **self.finding.to_json(),
            "test_id": self.test_id,
            "duration": self.duration,
            "claim": self.claim,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> CheckResult:
        """Inverse of :meth:`to_json`."""
        return cls(
            finding=Finding.from_json(data),
            test_id=data.get("test_id", ""),
            duration=float(data.get("duration", 0.0)),
            claim=data.get("claim", ""),
        )


@dataclass(frozen=True, kw_only=True)
class RunInfo:
    """Identity of one run: who probed, from where, for which schedule."""

    run_id: str
    started_at: float
    env: str = "none"
    location: str = "local"
    team: str = ""
    schedule: str = "adhoc"
    version: str = ""
    config_source: str = ""


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """How a run ended: counts by outcome, duration, and whether it was complete."""

    run: RunInfo
    finished_at: float
    counts: Mapping[str, int]
    complete: bool = True

    @property
    def duration(self) -> float:
        """Seconds from start to finish."""
        return max(0.0, self.finished_at - self.run.started_at)
