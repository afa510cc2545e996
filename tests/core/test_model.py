"""The result model: validation, severity order and the JSON round trip."""

from __future__ import annotations

import json
import math

import pytest

from seawall.config.reader import is_host
from seawall.model import CheckResult, Finding, Outcome, worst


def finding(**kw: object) -> Finding:
    base: dict[str, object] = dict(
        check="tls.cert_expiry",
        target="api.example.com:443",
        outcome=Outcome.FAIL,
        reason="expired",
        summary="api.example.com:443 certificate expired 3 days ago",
        observed_at=1_700_000_000.5,
        evidence={"not_after": "2023-11-11T00:00:00Z"},
        metrics={"tls.cert.days_to_expiry": -3},
    )
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


def test_round_trip_through_json() -> None:
    original = CheckResult(
        finding=finding(),
        test_id="probes/x.py::t[a]",
        duration=0.25,
        claim="Certificates are valid",
    )
    again = CheckResult.from_json(json.loads(json.dumps(original.to_json())))
    assert again == original


def test_non_pass_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        finding(outcome=Outcome.ERROR, reason=None)
    assert finding(outcome=Outcome.PASS, reason=None).reason is None


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_metrics_and_evidence_must_be_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="not finite"):
        finding(metrics={"x": bad})
    with pytest.raises(ValueError, match="not finite"):
        finding(evidence={"nested": [1, {"v": bad}]})


def test_evidence_must_be_plain_json() -> None:
    with pytest.raises(ValueError, match="not plain JSON"):
        finding(evidence={"when": object()})


def test_check_id_has_a_suite() -> None:
    with pytest.raises(ValueError, match=r"<suite>\.<promise>"):
        finding(check="expiry")
    assert finding().suite == "tls"


def test_worst_orders_error_above_fail_above_warn() -> None:
    assert worst([Outcome.PASS, Outcome.WARN]) is Outcome.WARN
    assert worst([Outcome.FAIL, Outcome.ERROR, Outcome.PASS]) is Outcome.ERROR
    assert worst([]) is Outcome.PASS
    assert [o.severity for o in Outcome] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "good", ["api.example.com", "a", "10.0.0.1", "::1", "x-y.z.", "_dmarc.ex.com"]
)
def test_hosts_accepted(good: str) -> None:
    assert is_host(good)


@pytest.mark.parametrize(
    "bad", ["", "-a.com", "a..b", "a b", "x" * 64 + ".com", "[::1]", "host:443"]
)
def test_hosts_rejected(bad: str) -> None:
    assert not is_host(bad)
