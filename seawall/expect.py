"""``expect(finding)``: the one bridge from a Finding to a pytest outcome.

- pass: the test passes;
- warn: the test passes and is shown as ``WARN`` (``W``);
- fail: the test fails with the finding's summary (no traceback: it is not a bug);
- error: the test fails as ``INCONCLUSIVE`` (``I``): we could not look, which is never
  a pass.

Every finding given to ``expect`` rides on the test report as plain JSON in
``user_properties`` (key ``seawall.finding``), for the reporters.
"""

from __future__ import annotations

from contextvars import ContextVar

import pytest

from seawall.model import Finding, Outcome

PROPERTY = "seawall.finding"

#: Findings of the test being run; set by the plugin around each test call.
_current: ContextVar[list[Finding] | None] = ContextVar("seawall_findings", default=None)


class Inconclusive(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """Raised for an ``error`` finding: the probe could not look."""


def expect(*findings: Finding) -> None:
    """Turn findings into the test's outcome: the worst one decides.

    All findings are recorded first, so a test judging several checks reports all of
    them even when the first one fails.
    """
    sink = _current.get()
    if sink is not None:
        sink.extend(findings)
    failing = [f for f in findings if f.outcome in (Outcome.FAIL, Outcome.ERROR)]
    if not failing:
        return
    message = "\n".join(f"{f.outcome.value.upper()} [{f.reason}] {f.summary}" for f in failing)
    if all(f.outcome is Outcome.ERROR for f in failing):
        raise Inconclusive(msg=message, pytrace=False)
    pytest.fail(message, pytrace=False)
