"""The https rules on hand-written facts: HSTS parsing and chain shapes the lab does not
serve (no Location, a first redirect to http://, several HSTS headers)."""

from __future__ import annotations

import pytest

from seawall.config.https import DEFAULT_POLICY
from seawall.https import rules
from seawall.https.facts import Hop, ServiceFacts
from seawall.model import Outcome

URL = "http://a.test/"


def facts(*chain: Hop, direct: Hop | None = None, reason: str | None = None) -> ServiceFacts:
    return ServiceFacts(target="a.test:443", host="a.test", http_port=80, https_port=443,
                        path="/", observed_at=1000.0, chain=chain, direct=direct,
                        reason=reason, detail="boom" if reason else "")


def hop(url: str = URL, status: int | None = 200, next_url: str | None = None,
        hsts: tuple[str, ...] = (), reason: str | None = None) -> Hop:
    return Hop(url=url, dialled="127.0.0.1:1", status=status, location=next_url,
               next_url=next_url, hsts=hsts, reason=reason)


@pytest.mark.parametrize(("value", "age", "sub", "preload"), [
    ("max-age=31536000", 31536000, False, False),
    ("max-age=31536000; includeSubDomains; preload", 31536000, True, True),
    ('MAX-AGE="600" ; INCLUDESUBDOMAINS', 600, True, False),
    ("includeSubDomains;max-age=0;", 0, True, False),
])
def test_parse_hsts(value, age, sub, preload):
    parsed = rules.parse_hsts(value)
    assert (parsed.max_age, parsed.include_subdomains, parsed.preload) == (age, sub, preload)


@pytest.mark.parametrize(("value", "problem"), [
    ("includeSubDomains", "no max-age directive"),
    ("max-age=abc", "max-age 'abc' is not a number of seconds"),
    ("max-age=-5", "max-age '-5' is not a number of seconds"),
    ("max-age", "max-age None is not a number of seconds"),
    ("max-age=1; max-age=31536000", "directive max-age appears twice"),
])
def test_invalid_hsts(value, problem):
    parsed = rules.parse_hsts(value)
    assert parsed.max_age is None
    assert parsed.problem == problem


def test_invalid_hsts_fails():
    finding = rules.hsts(facts(direct=hop(hsts=("max-age=soon",))), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "hsts_invalid")


def test_only_the_first_hsts_header_counts():
    """RFC 6797 8.1: a good second header does not rescue a short first one."""
    direct = hop(hsts=("max-age=60", "max-age=31536000"))
    assert rules.hsts(facts(direct=direct), DEFAULT_POLICY).reason == "hsts_too_short"


def test_first_redirect_to_http_is_not_https():
    chain = (hop(status=301, next_url="http://a.test/elsewhere"),)
    finding = rules.redirect(facts(*chain), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "redirect_not_https")


def test_redirect_without_location_fails():
    finding = rules.redirect(facts(hop(status=302)), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "redirect_no_location")


def test_host_comparison_ignores_case():
    chain = (hop(status=301, next_url="https://A.TEST/"), hop("https://a.test/", 200))
    assert rules.redirect(facts(*chain), DEFAULT_POLICY).outcome is Outcome.PASS


def test_error_hop_after_a_redirect_is_an_error_not_a_pass():
    chain = (hop(status=301, next_url="https://a.test/"),
             hop("https://a.test/", None, reason="timeout"))
    finding = rules.redirect(facts(*chain), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "timeout")


def test_facts_that_could_not_be_gathered_are_errors():
    broken = facts(reason="probe_crashed")
    for rule in (rules.redirect, rules.hsts):
        finding = rule(broken, DEFAULT_POLICY)
        assert (finding.outcome, finding.reason) == (Outcome.ERROR, "probe_crashed")


def test_findings_round_trip_through_json():
    finding = rules.redirect(facts(hop(status=200)), DEFAULT_POLICY)
    assert type(finding).from_json(finding.to_json()) == finding
    assert finding.observed_at == 1000.0
