"""Each rule's judgement beyond the lab table: policies, thresholds, an injected clock,
and inconclusive attempts. Facts are real observations of the lab, varied with
``dataclasses.replace`` where a case needs a fact the lab does not serve."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

from seawall.config.tls import BUILTIN_POLICIES, TlsPolicy
from seawall.model import Outcome
from seawall.tls import rules
from seawall.tls.facts import Attempt, TlsFacts

DEFAULT = BUILTIN_POLICIES["default"]
MODERN = BUILTIN_POLICIES["modern"]
STRICT = BUILTIN_POLICIES["strict"]
DAY = 86400.0

Facts = Mapping[str, TlsFacts]


def test_versions_modern_fails_a_server_that_still_accepts_tls12(lab_facts: Facts,
                                                                 now: float) -> None:
    finding = rules.versions(lab_facts["good12"], MODERN, now)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "protocol_too_old")
    assert finding.summary == ("good12.lab.seawall.test:443 accepts TLSv1.2; policy modern "
                               "requires TLSv1.3 only")
    assert rules.versions(lab_facts["good13"], MODERN, now).outcome is Outcome.PASS


def test_versions_newer_than_allowed_is_not_allowed(lab_facts: Facts, now: float) -> None:
    only12 = TlsPolicy(name="pinned", versions=("TLSv1.2",))
    finding = rules.versions(lab_facts["good12"], only12, now)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "protocol_not_allowed")
    assert rules.versions(lab_facts["only12"], only12, now).outcome is Outcome.PASS


def test_versions_a_local_refusal_is_an_error_never_a_pass(lab_facts: Facts,
                                                           now: float) -> None:
    facts = lab_facts["good13"]
    unsure = Attempt(version="TLSv1.0", accepted=None, reason="local_policy",
                     detail="our TLS library refused: SSL: NO_PROTOCOLS_AVAILABLE")
    facts = replace(facts, attempts=(unsure, *facts.attempts[1:]))
    finding = rules.versions(facts, MODERN, now)
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "local_policy")


def test_versions_a_seen_old_version_fails_even_when_another_is_unknown(
        lab_facts: Facts, now: float) -> None:
    facts = lab_facts["legacy"]
    unsure = Attempt(version="TLSv1.2", accepted=None, reason="timeout")
    facts = replace(facts, attempts=tuple(unsure if a.version == "TLSv1.2" else a
                                          for a in facts.attempts))
    finding = rules.versions(facts, DEFAULT, now)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "protocol_too_old")


def test_expiry_thresholds_come_from_the_policy(lab_facts: Facts, now: float) -> None:
    soon = lab_facts["expiring_soon"]  # 20 days left
    finding = rules.cert_expiry(soon, replace(DEFAULT, cert_fail_days=25), now)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "expiring_soon")
    relaxed = replace(DEFAULT, cert_warn_days=10, cert_fail_days=5)
    assert rules.cert_expiry(soon, relaxed, now).outcome is Outcome.PASS
    assert 19.5 < finding.metrics["tls.cert.days_to_expiry"] < 20.5


def test_expiry_judges_at_the_injected_clock(lab_facts: Facts, now: float) -> None:
    good = lab_facts["good12"]  # leaf valid for 90 days
    assert rules.cert_expiry(good, DEFAULT, now).outcome is Outcome.PASS
    warn = rules.cert_expiry(good, DEFAULT, now + 70 * DAY)
    assert (warn.outcome, warn.reason) == (Outcome.WARN, "expiring_soon")
    fail = rules.cert_expiry(good, DEFAULT, now + 80 * DAY)
    assert (fail.outcome, fail.reason) == (Outcome.FAIL, "expiring_soon")
    gone = rules.cert_expiry(good, DEFAULT, now + 100 * DAY)
    assert (gone.outcome, gone.reason) == (Outcome.FAIL, "expired")
    early = rules.cert_expiry(good, DEFAULT, now - 2 * DAY)
    assert (early.outcome, early.reason) == (Outcome.FAIL, "not_yet_valid")


def test_expiry_reports_leaf_and_chain_separately(lab_facts: Facts, now: float) -> None:
    finding = rules.cert_expiry(lab_facts["expired"], DEFAULT, now)
    assert finding.metrics["tls.cert.days_to_expiry"] < -9
    assert finding.metrics["tls.cert.chain_days_to_expiry"] < -9
    good = rules.cert_expiry(lab_facts["good12"], DEFAULT, now)
    assert good.metrics["tls.cert.chain_days_to_expiry"] <= good.metrics[
        "tls.cert.days_to_expiry"]


def test_expired_certificate_facts_are_recorded_not_down(lab_facts: Facts) -> None:
    facts = lab_facts["expired"]
    assert facts.error is None and facts.chain is not None
    assert facts.chain.status == "trusted"
    assert facts.version == "TLSv1.3"


def test_key_sizes_come_from_the_policy(lab_facts: Facts, now: float) -> None:
    rsa2048 = lab_facts["weak_cipher"]  # RSA 2048 leaf
    assert rules.cert_key(rsa2048, DEFAULT, now).outcome is Outcome.PASS
    finding = rules.cert_key(rsa2048, replace(DEFAULT, min_rsa_bits=3072), now)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "weak_key")
    ec = rules.cert_key(lab_facts["good12"], replace(DEFAULT, min_ec_bits=384), now)
    assert (ec.outcome, ec.reason) == (Outcome.FAIL, "weak_key")


def test_signature_hashes_come_from_the_policy(lab_facts: Facts, now: float) -> None:
    lenient = replace(DEFAULT, forbidden_signature_hashes=("md5",))
    assert rules.cert_signature(lab_facts["sha1"], lenient, now).outcome is Outcome.PASS
    finding = rules.cert_signature(lab_facts["sha1"], DEFAULT, now)
    assert finding.summary == ("sha1.lab.seawall.test:443 CN=sha1.lab.seawall.test,"
                               "O=Seawall lab is signed with sha1")


def test_cipher_strict_fails_non_aead_suites_on_old_versions(lab_facts: Facts,
                                                             now: float) -> None:
    finding = rules.cipher(lab_facts["legacy"], STRICT, now)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "weak_cipher")
    assert "TLSv1.0" in finding.summary
    assert rules.cipher(lab_facts["only12"], STRICT, now).outcome is Outcome.PASS
    assert rules.cipher(lab_facts["weak_cipher"], DEFAULT, now).outcome is Outcome.PASS


def test_alpn_is_recorded(lab_facts: Facts, now: float) -> None:
    assert lab_facts["alpn"].alpn == "h2"
    assert lab_facts["good12"].alpn is None
    assert rules.cipher(lab_facts["alpn"], DEFAULT, now).evidence["alpn"] == "h2"


def test_findings_are_plain_json(lab_facts: Facts, now: float) -> None:
    for facts in lab_facts.values():
        for rule in rules.RULES.values():
            json.dumps(rule(facts, STRICT, now).to_json())
