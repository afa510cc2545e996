"""https.hsts against real lab servers, and HTTPS verification on the nominal name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from seawall.config.https import DEFAULT_POLICY
from seawall.https import rules
from seawall.model import Outcome


def test_one_year_hsts_passes(probe):
    finding = rules.hsts(probe("redirect_ok"), DEFAULT_POLICY)
    assert finding.outcome is Outcome.PASS, finding.summary
    assert finding.check == "https.hsts"
    assert finding.evidence["max_age"] == 31536000
    assert finding.evidence["include_subdomains"] is True
    assert finding.metrics == {"https.hsts.max_age": 31536000.0}


def test_missing_hsts_fails(probe):
    finding = rules.hsts(probe("hsts_missing"), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "hsts_missing")


def test_short_hsts_fails(probe):
    finding = rules.hsts(probe("hsts_short"), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "hsts_too_short")
    assert finding.summary == (
        "https://hsts-short.lab.seawall.test:443/ sends HSTS max-age=3600; policy default "
        "requires >= 31536000")
    assert finding.metrics["https.hsts.max_age"] == 3600.0


def test_min_age_is_configurable(probe):
    policy = replace(DEFAULT_POLICY, name="hour", hsts_min_age=3600)
    assert rules.hsts(probe("hsts_short"), policy).outcome is Outcome.PASS


def test_include_subdomains_required_by_policy(probe):
    policy = replace(DEFAULT_POLICY, name="strict", hsts_min_age=0,
                     require_include_subdomains=True)
    short = rules.hsts(probe("hsts_short"), policy)
    assert (short.outcome, short.reason) == (Outcome.FAIL, "hsts_no_subdomains")
    assert rules.hsts(probe("redirect_ok"), policy).outcome is Outcome.PASS


@pytest.mark.parametrize("case", ["expired", "wrong_host", "self_signed", "untrusted_root"])
def test_bad_certificate_fails(probe, case):
    facts = probe(case)
    finding = rules.hsts(facts, DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "cert_invalid")
    assert "certificate verify failed" in facts.direct.detail


def test_verification_uses_the_nominal_name(probe, make_service, lab, address):
    """good13's valid certificate names good13; served for redirect-ok's name it must
    fail as a hostname mismatch (SNI and checks follow the URL host, not 127.0.0.1)."""
    svc = make_service("redirect_ok")
    overrides = dict(lab.overrides)
    overrides[svc.host, 443] = address("good13")
    facts = probe(svc, overrides=overrides)
    assert facts.direct.reason == "cert_invalid"
    assert "Hostname mismatch" in facts.direct.detail
    assert probe("good13").direct.status == 200  # the same listener, its own name: fine


def test_without_the_lab_root_verification_fails(probe):
    """Verification is really on: the lab root is not in the system store."""
    facts = probe("redirect_ok", trust=False)
    assert facts.direct.reason == "cert_invalid"
    assert rules.hsts(facts, DEFAULT_POLICY).outcome is Outcome.FAIL


def test_hanging_https_is_a_timeout(probe, make_service, address):
    svc = make_service("redirect_ok")
    hang = address("hanging")
    facts = probe(svc, overrides={(svc.host, 80): hang, (svc.host, 443): hang}, timeout=0.5)
    finding = rules.hsts(facts, DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "timeout")
