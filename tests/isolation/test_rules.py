"""The one-sided verdict rule on hand-made facts (pure; no namespaces needed)."""

from __future__ import annotations

import pytest

from seawall.isolation import rules
from seawall.isolation.facts import AttemptFacts, CellFacts, ControlFacts
from seawall.isolation.policy import IsolationPolicy
from seawall.model import Outcome
from seawall.targets import Cell

pytestmark = pytest.mark.privileged
CELL = Cell(source="f.a", destination="f.b", protocol="tcp")
OK = ControlFacts(name="self", sandbox="f.a", target="198.18.1.10:22", ok=True,
                  result="reached_canary")
BAD = ControlFacts(name="allowed:x", sandbox="f.a", target="198.18.1.1:8080", ok=False,
                   result="timeout")


def attempt(result: str, port: int = 22) -> AttemptFacts:
    return AttemptFacts(kind="tcp", host="198.18.1.11", port=port, result=result)


def judge(*results: str, controls: tuple[ControlFacts, ...] = (OK,), **kw: object):
    facts = CellFacts(cell=CELL, observed_at=1.0, controls=controls,
                      attempts=tuple(attempt(r) for r in results), **kw)  # type: ignore[arg-type]
    return rules.verdict(facts, IsolationPolicy(), 2.0)


def test_all_blocked_with_controls_passes() -> None:
    assert judge("timeout", "refused", "unreachable").outcome is Outcome.PASS


def test_one_success_fails_whatever_the_rest_say() -> None:
    finding = judge("timeout", "reached_canary", "timeout")
    assert finding.outcome is Outcome.FAIL and finding.reason == "reached_canary"
    assert finding.evidence["leaks"][0]["port"] == 22


def test_a_leak_fails_even_when_controls_failed() -> None:
    assert judge("reached_other", controls=(BAD,)).outcome is Outcome.FAIL


def test_silence_with_a_failed_control_is_inconclusive() -> None:
    finding = judge("timeout", controls=(OK, BAD))
    assert finding.outcome is Outcome.ERROR and finding.reason == "control_failed"


def test_local_refusal_never_passes() -> None:
    finding = judge("timeout", "local_policy")
    assert finding.outcome is Outcome.ERROR and finding.reason == "local_policy"


def test_no_attempts_never_passes() -> None:
    assert judge().outcome is Outcome.ERROR


def test_probe_problem_is_inconclusive() -> None:
    finding = judge(problem="probe_crashed", detail="agent exited 1")
    assert finding.outcome is Outcome.ERROR and finding.reason == "probe_crashed"


def test_raw_sockets_follow_policy() -> None:
    facts = CellFacts(cell=Cell(source="f.a", destination="any", protocol="raw"),
                      observed_at=1.0, controls=(OK,),
                      attempts=(AttemptFacts(kind="raw", host="", port=None,
                                             result="raw_socket_available"),))
    assert rules.verdict(facts, IsolationPolicy(), 0).outcome is Outcome.FAIL
    allowed = rules.verdict(facts, IsolationPolicy(allow_raw_sockets=True), 0)
    assert allowed.outcome is Outcome.ERROR  # nothing blocked, nothing leaked: not a pass


@pytest.mark.parametrize("leak", ["dns_answered", "icmp_tunnel_open"])
def test_egress_leaks_fail(leak: str) -> None:
    finding = judge("timeout", leak)
    assert finding.outcome is Outcome.FAIL and finding.reason == leak


def test_no_unprivileged_icmp_socket_is_blocked() -> None:
    assert judge("no_icmp_socket").outcome is Outcome.PASS
