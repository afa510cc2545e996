"""https.redirect against real lab servers: each bad case caught, the good ones pass."""

from __future__ import annotations

from dataclasses import replace

from seawall.config.https import DEFAULT_POLICY, REDIRECT_OR_CLOSED
from seawall.https import rules
from seawall.model import Outcome

CLOSED_OK = replace(DEFAULT_POLICY, name="closed-ok", plain_http=REDIRECT_OR_CLOSED)


def test_redirect_ok_passes(probe):
    finding = rules.redirect(probe("redirect_ok"), DEFAULT_POLICY)
    assert finding.outcome is Outcome.PASS, finding.summary
    assert finding.check == "https.redirect"
    assert finding.target == "redirect-ok.lab.seawall.test:443"
    chain = finding.evidence["chain"]
    assert [hop["status"] for hop in chain] == [301, 200]
    assert chain[0]["url"] == "http://redirect-ok.lab.seawall.test/"
    assert chain[1]["url"] == "https://redirect-ok.lab.seawall.test/"
    assert chain[0]["dialled"].startswith("127.0.0.1:")
    assert finding.metrics["https.redirects"] == 1.0


def test_plain_http_200_fails(probe):
    finding = rules.redirect(probe("plain_ok"), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "not_redirected")
    assert finding.summary == (
        "http://plain-ok.lab.seawall.test:80/ answers 200 without redirecting to https; "
        "policy default requires a redirect")


def test_offsite_redirect_fails_and_is_not_followed(probe):
    finding = rules.redirect(probe("redirect_offsite"), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "redirect_offsite")
    assert len(finding.evidence["chain"]) == 1
    assert "https://evil.lab.seawall.test/" in finding.summary


def test_downgrade_back_to_http_fails(probe):
    finding = rules.redirect(probe("redirect_downgrade"), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "redirect_downgrade")
    assert [hop["status"] for hop in finding.evidence["chain"]] == [301, 302]


def test_loop_fails_after_max_redirects(probe):
    policy = replace(DEFAULT_POLICY, max_redirects=3)
    finding = rules.redirect(probe("redirect_loop", policy=policy), policy)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "redirect_loop")
    assert len(finding.evidence["chain"]) == 4  # 3 allowed redirects, then one more


def test_redirects_within_the_bound_pass(probe):
    """The bound is not off by one: one redirect is allowed by max_redirects=1."""
    policy = replace(DEFAULT_POLICY, max_redirects=1)
    assert rules.redirect(probe("redirect_ok", policy=policy), policy).outcome is Outcome.PASS


def test_closed_plain_port_fails_under_redirect(probe):
    finding = rules.redirect(probe("http_closed"), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "plain_http_closed")


def test_closed_plain_port_passes_under_redirect_or_closed(probe):
    finding = rules.redirect(probe("http_closed", policy=CLOSED_OK), CLOSED_OK)
    assert finding.outcome is Outcome.PASS, finding.summary
    assert finding.evidence["chain"][0]["error"] == "refused"


def test_redirect_or_closed_still_fails_a_plain_200(probe):
    finding = rules.redirect(probe("plain_ok", policy=CLOSED_OK), CLOSED_OK)
    assert finding.reason == "not_redirected"


def test_hanging_plain_port_is_a_timeout_not_closed(probe, make_service, address):
    """A plain port that accepts and never answers is an error (timeout) even where a
    closed port would pass."""
    svc = make_service("redirect_ok")
    hang = address("hanging")
    overrides = {(svc.host, 80): hang, (svc.host, 443): hang}
    facts = probe(svc, policy=CLOSED_OK, overrides=overrides, timeout=0.5)
    finding = rules.redirect(facts, CLOSED_OK)
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "timeout")
    assert rules.redirect(facts, DEFAULT_POLICY).outcome is Outcome.ERROR


def test_reset_is_an_error(probe, make_service, address):
    svc = make_service("redirect_ok")
    overrides = {(svc.host, 80): address("reset")}
    finding = rules.redirect(probe(svc, overrides=overrides), DEFAULT_POLICY)
    assert finding.outcome is Outcome.ERROR
    assert finding.reason in ("reset", "http_protocol_error")


def test_redirect_to_https_with_a_bad_certificate_fails(probe, make_service, lab, address):
    """The https hop is verified against the nominal name: redirect-ok's HTTPS port
    served by the expired case's listener fails verification."""
    svc = make_service("redirect_ok")
    overrides = dict(lab.overrides)
    overrides[svc.host, 443] = address("expired")
    finding = rules.redirect(probe(svc, overrides=overrides), DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "cert_invalid")


def test_no_override_in_lab_mode_is_not_dialled(probe, make_service):
    """Lab names never reach a real resolver: without an override, local_policy."""
    facts = probe(make_service("redirect_ok"), overrides={})
    finding = rules.redirect(facts, DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "local_policy")
    assert facts.chain[0].dialled == ""
