"""Judgements of the https suite: pure functions of facts and policy to a Finding.

- :func:`redirect` (``https.redirect``): plain HTTP redirects to ``https://`` on the same
  host (or is closed, when the policy allows), without loops, hops to other hosts or
  downgrades back to ``http://``.
- :func:`hsts` (``https.hsts``): the HTTPS answer carries Strict-Transport-Security with
  a max-age of at least the policy's minimum (and includeSubDomains when required).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from seawall.config.https import REDIRECT_OR_CLOSED, HttpsPolicy
from seawall.https.facts import Hop, HttpsReason, ServiceFacts
from seawall.model import JSON, Finding, Outcome
from seawall.reasons import Reason

REDIRECT_CHECK = "https.redirect"
HSTS_CHECK = "https.hsts"


def _finding(check: str, facts: ServiceFacts, outcome: Outcome, reason: str | None,
             summary: str, evidence: dict[str, JSON],
             metrics: dict[str, float] | None = None) -> Finding:
    return Finding(check=check, target=facts.target, outcome=outcome, reason=reason,
                   summary=summary, observed_at=facts.observed_at, evidence=evidence,
                   metrics=metrics or {})


def _why(hop: Hop) -> str:
    return f"{hop.reason} ({hop.detail})" if hop.detail else str(hop.reason)


def redirect(facts: ServiceFacts, policy: HttpsPolicy) -> Finding:
    """``https.redirect`` for one service under ``policy``.

    pass: the chain from ``http://host:http_port/path`` reaches a non-redirect answer
    over https on the same host within ``max_redirects``; or the plain port refused
    connections and ``plain_http`` is ``redirect_or_closed``. fail: plain HTTP answered
    without redirecting, was closed under ``redirect``, or a hop went to another host,
    back to http, had no Location, failed certificate verification, or the chain
    exceeded ``max_redirects``. error: a hop could not be made (timeout, reset, ...).
    """
    chain = facts.chain
    evidence: dict[str, JSON] = {
        "policy": policy.name, "plain_http": policy.plain_http,
        "max_redirects": policy.max_redirects, "chain": [h.to_json() for h in chain],
    }

    def judge(outcome: Outcome, reason: str | None, summary: str) -> Finding:
        return _finding(REDIRECT_CHECK, facts, outcome, reason, summary, evidence,
                        {"https.redirects": float(sum(h.redirects for h in chain))})

    start = f"http://{facts.host}:{facts.http_port}{facts.path}"
    if facts.reason or not chain:
        return judge(Outcome.ERROR, facts.reason or Reason.PROBE_CRASHED,
                     f"{start} could not be probed: {facts.detail or 'no request was made'}")
    first = chain[0]
    if not first.ok and first.reason == Reason.REFUSED:
        if policy.plain_http == REDIRECT_OR_CLOSED:
            return judge(Outcome.PASS, None, f"{start} is closed (connection refused); "
                         f"policy {policy.name} allows a closed plain-HTTP port")
        return judge(Outcome.FAIL, HttpsReason.PLAIN_HTTP_CLOSED,
                     f"{start} is closed (connection refused); policy {policy.name} "
                     "requires a redirect to https")
    for index, hop in enumerate(chain):
        if not hop.ok:
            if hop.reason == HttpsReason.CERT_INVALID:
                return judge(Outcome.FAIL, HttpsReason.CERT_INVALID,
                             f"redirect target {hop.url} fails certificate verification: "
                             f"{hop.detail}")
            return judge(Outcome.ERROR, hop.reason or Reason.UNKNOWN_ERROR,
                         f"{hop.url} could not be fetched: {_why(hop)}")
        if not hop.redirects:
            if index == 0:
                return judge(Outcome.FAIL, HttpsReason.NOT_REDIRECTED,
                             f"{start} answers {hop.status} without redirecting to https; "
                             f"policy {policy.name} requires a redirect")
            return judge(Outcome.PASS, None,
                         f"{start} redirects to {hop.url} ({index} redirect(s), final "
                         f"status {hop.status})")
        if hop.next_url is None:
            return judge(Outcome.FAIL, HttpsReason.REDIRECT_NO_LOCATION,
                         f"{hop.url} answers {hop.status} without a usable Location "
                         f"({hop.location!r})")
        nxt = urlsplit(hop.next_url)
        if nxt.scheme != "https":
            reason = HttpsReason.REDIRECT_DOWNGRADE if index else HttpsReason.REDIRECT_NOT_HTTPS
            return judge(Outcome.FAIL, reason,
                         f"{hop.url} redirects to {hop.next_url}, not https")
        if (nxt.hostname or "") != facts.host.lower():
            return judge(Outcome.FAIL, HttpsReason.REDIRECT_OFFSITE,
                         f"{hop.url} redirects to another host: {hop.next_url}")
    if len(chain) > policy.max_redirects:
        return judge(Outcome.FAIL, HttpsReason.REDIRECT_LOOP,
                     f"{start} still redirects after {len(chain)} hops (last to "
                     f"{chain[-1].next_url}); policy {policy.name} allows "
                     f"{policy.max_redirects}")
    return judge(Outcome.ERROR, Reason.PROBE_CRASHED,
                 f"{start}: the redirect chain ended early after {len(chain)} hop(s)")


@dataclass(frozen=True, kw_only=True)
class HstsDirectives:
    """A parsed Strict-Transport-Security value (RFC 6797 6.1). ``max_age`` is None
    when absent or invalid; ``problem`` says why a header is invalid (RFC 6797 6.1:
    the user agent then ignores the whole header)."""

    max_age: int | None = None
    include_subdomains: bool = False
    preload: bool = False
    problem: str = ""


def parse_hsts(value: str) -> HstsDirectives:
    """Parse one header value: directives split on ``;``, names case-insensitive,
    values optionally quoted; a repeated directive or a non-numeric max-age makes the
    header invalid."""
    seen: dict[str, str | None] = {}
    for part in value.split(";"):
        name, eq, raw = part.strip().partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if name in seen:
            return HstsDirectives(problem=f"directive {name} appears twice")
        seen[name] = raw.strip().strip('"') if eq else None
    age = seen.get("max-age")
    if "max-age" not in seen:
        return HstsDirectives(problem="no max-age directive")
    if age is None or not age.isdigit():
        return HstsDirectives(problem=f"max-age {age!r} is not a number of seconds")
    return HstsDirectives(max_age=int(age), include_subdomains="includesubdomains" in seen,
                          preload="preload" in seen)


def hsts(facts: ServiceFacts, policy: HttpsPolicy) -> Finding:
    """``https.hsts`` for one service under ``policy``, from the direct HTTPS answer.

    pass: the first Strict-Transport-Security header (RFC 6797 8.1: only the first is
    processed) has max-age >= ``hsts_min_age`` (and includeSubDomains if required).
    fail: missing, invalid, too short, no includeSubDomains when required, or the
    certificate fails verification (RFC 6797 8.1: the header is then ignored).
    error: the HTTPS request could not be made.
    """
    hop = facts.direct
    url = f"https://{facts.host}:{facts.https_port}{facts.path}"
    evidence: dict[str, JSON] = {"policy": policy.name, "hsts_min_age": policy.hsts_min_age,
                                 "require_include_subdomains": policy.require_include_subdomains}
    if hop is not None:
        evidence["response"] = hop.to_json()

    def judge(outcome: Outcome, reason: str | None, summary: str,
              metrics: dict[str, float] | None = None) -> Finding:
        return _finding(HSTS_CHECK, facts, outcome, reason, summary, evidence, metrics)

    if facts.reason or hop is None:
        return judge(Outcome.ERROR, facts.reason or Reason.PROBE_CRASHED,
                     f"{url} could not be probed: {facts.detail or 'no request was made'}")
    if not hop.ok:
        if hop.reason == HttpsReason.CERT_INVALID:
            return judge(Outcome.FAIL, HttpsReason.CERT_INVALID,
                         f"{url} fails certificate verification, so browsers ignore its "
                         f"HSTS: {hop.detail}")
        return judge(Outcome.ERROR, hop.reason or Reason.UNKNOWN_ERROR,
                     f"{url} could not be fetched: {_why(hop)}")
    if not hop.hsts:
        return judge(Outcome.FAIL, HttpsReason.HSTS_MISSING,
                     f"{url} sends no Strict-Transport-Security header (status {hop.status})")
    directives = parse_hsts(hop.hsts[0])
    evidence.update(max_age=directives.max_age,
                    include_subdomains=directives.include_subdomains,
                    preload=directives.preload)
    if directives.max_age is None:
        return judge(Outcome.FAIL, HttpsReason.HSTS_INVALID,
                     f"{url} sends an invalid Strict-Transport-Security header "
                     f"{hop.hsts[0]!r}: {directives.problem}")
    metrics = {"https.hsts.max_age": float(directives.max_age)}
    if directives.max_age < policy.hsts_min_age:
        return judge(Outcome.FAIL, HttpsReason.HSTS_TOO_SHORT,
                     f"{url} sends HSTS max-age={directives.max_age}; policy {policy.name} "
                     f"requires >= {policy.hsts_min_age}", metrics)
    if policy.require_include_subdomains and not directives.include_subdomains:
        return judge(Outcome.FAIL, HttpsReason.HSTS_NO_SUBDOMAINS,
                     f"{url} sends HSTS without includeSubDomains; policy {policy.name} "
                     "requires it", metrics)
    sub = "; includeSubDomains" if directives.include_subdomains else ""
    return judge(Outcome.PASS, None,
                 f"{url} sends HSTS max-age={directives.max_age}{sub}", metrics)
