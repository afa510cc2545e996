"""Reasons shared by every suite: why a probe could not look, or a cross-suite outcome.

Reasons are snake_case enum values; alerts group on them. Each suite keeps its own
judgement reasons in its own enum (``seawall/<suite>/facts.py``); a test checks that no
value is defined twice across all of them, so a reason means one thing everywhere.
"""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Cross-suite reasons: mostly 'we could not look' (an ``error`` outcome)."""

    TIMEOUT = "timeout"  # no answer within the deadline
    REFUSED = "refused"  # connection refused (RST to SYN, ECONNREFUSED)
    RESET = "reset"  # connection reset after it was accepted
    UNREACHABLE = "unreachable"  # no route, EHOSTUNREACH / ENETUNREACH
    DNS_FAILURE = "dns_failure"  # the name did not resolve
    LOCAL_POLICY = "local_policy"  # our own client refused before sending anything
    NOT_PERMITTED = "not_permitted"  # we lack the privilege to look (EPERM, EACCES)
    CONTROL_FAILED = "control_failed"  # a same-run positive control failed: inconclusive
    PROBE_CRASHED = "probe_crashed"  # a bug or crash in the probe itself
    UNKNOWN_ERROR = "unknown_error"  # anything classify() did not recognise (see evidence)
