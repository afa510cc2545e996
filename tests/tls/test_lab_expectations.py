"""Every lab case, judged by every tls rule under the policy the lab assigns it, ends
with exactly the expected outcome and reason: a wrong reason fails our CI.

This is the table ``pytest probes/ -m tls`` shows in lab mode."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from seawall.config.tls import BUILTIN_POLICIES
from seawall.lab import TLS_CASES
from seawall.model import Outcome
from seawall.tls import rules
from seawall.tls.facts import TlsFacts
from seawall.tls.suite import LAB_POLICIES

P, W, F, E = Outcome.PASS, Outcome.WARN, Outcome.FAIL, Outcome.ERROR
CHECKS = tuple(rules.RULES)

# case -> {check: (outcome, reason)}; checks not listed pass.
BAD: dict[str, dict[str, tuple[Outcome, str]]] = {
    "good13": {}, "good12": {}, "only12": {}, "alpn": {}, "ocsp": {},
    "legacy": {"tls.versions": (F, "protocol_too_old")},
    "expired": {"tls.cert_expiry": (F, "expired")},
    "not_yet_valid": {"tls.cert_expiry": (F, "not_yet_valid")},
    "expiring_soon": {"tls.cert_expiry": (W, "expiring_soon")},
    "wrong_host": {"tls.cert_hostname": (F, "hostname_mismatch")},
    "self_signed": {"tls.cert_chain": (F, "self_signed")},
    "untrusted_root": {"tls.cert_chain": (F, "untrusted_root")},
    "missing_intermediate": {"tls.cert_chain": (F, "incomplete_chain")},
    "rsa1024": {"tls.cert_key": (F, "weak_key")},
    "sha1": {"tls.cert_signature": (F, "weak_signature")},
    "weak_cipher": {"tls.cipher": (F, "weak_cipher")},
    "no_tls": dict.fromkeys(CHECKS, (E, "not_tls")),
    "hanging": dict.fromkeys(CHECKS, (E, "timeout")),
    "reset": dict.fromkeys(CHECKS, (E, "reset")),
    "closed": dict.fromkeys(CHECKS, (E, "refused")),
}
TABLE = [(case, check, *BAD[case].get(check, (P, None)))
         for case in TLS_CASES for check in CHECKS]


def test_every_lab_case_has_an_expectation() -> None:
    assert set(TLS_CASES) <= set(BAD), "add the new lab case to BAD"


@pytest.mark.parametrize(("case", "check", "outcome", "reason"), TABLE,
                         ids=[f"{c}-{k}" for c, k, _, _ in TABLE])
def test_lab_case(lab_facts: Mapping[str, TlsFacts], now: float, case: str, check: str,
                  outcome: Outcome, reason: str | None) -> None:
    policy = BUILTIN_POLICIES[LAB_POLICIES.get(case, "default")]
    finding = rules.RULES[check](lab_facts[case], policy, now)
    assert (finding.outcome, finding.reason) == (outcome, reason), finding.summary
    assert finding.check == check
    assert finding.target == f"{TLS_CASES[case].host}:443"
