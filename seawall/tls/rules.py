"""Pure judgements of TLS facts: facts + policy + now -> Finding. No I/O.

Every rule first asks whether we could look at all: a target with ``facts.error`` (or
without a chain, for certificate rules) gives an ``error`` finding with that reason on
every check, never a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from seawall.model import JSON, Finding, Outcome
from seawall.reasons import Reason
from seawall.tls.facts import CertFacts, ChainFacts, TlsFacts, TlsReason
from seawall.tls.policy import TlsPolicy, cipher_problem, version_index

DAY = 86400.0


def _finding(check: str, facts: TlsFacts, outcome: Outcome, summary: str,
             reason: str | None = None, evidence: Mapping[str, JSON] | None = None,
             metrics: Mapping[str, float] | None = None) -> Finding:
    return Finding(check=check, target=facts.target, outcome=outcome, reason=reason,
                   summary=f"{facts.target} {summary}", observed_at=facts.observed_at,
                   evidence={"address": facts.address, **(evidence or {})},
                   metrics=metrics or {})


def _unreachable(check: str, facts: TlsFacts) -> Finding | None:
    if facts.error is None:
        return None
    return _finding(check, facts, Outcome.ERROR,
                    f"could not be probed: {facts.error} ({facts.error_detail})",
                    facts.error, {"error": facts.error, "detail": facts.error_detail})


def _attempts(facts: TlsFacts) -> list[JSON]:
    return [{"version": a.version, "accepted": a.accepted, "cipher": a.cipher,
             "reason": a.reason, "detail": a.detail, "via": a.via} for a in facts.attempts]


def versions(facts: TlsFacts, policy: TlsPolicy, now: float) -> Finding:
    """``tls.versions``: the server accepts only versions the policy allows (it
    completed a handshake, so it accepts at least one). An attempt we could not
    complete (timeout, local_policy) makes a would-be pass an error."""
    check = "tls.versions"
    if (early := _unreachable(check, facts)) is not None:
        return early
    evidence = {"accepted": list(facts.accepted), "allowed": list(policy.versions),
                "attempts": _attempts(facts)}
    too_old = [v for v in facts.accepted if version_index(v) < version_index(policy.min_version)]
    other = [v for v in facts.accepted if v not in policy.versions and v not in too_old]
    wanted = f"policy {policy.name} requires {policy.describe_versions()}"
    if too_old:
        return _finding(check, facts, Outcome.FAIL, f"accepts {', '.join(too_old)}; {wanted}",
                        TlsReason.PROTOCOL_TOO_OLD, evidence)
    if other:
        return _finding(check, facts, Outcome.FAIL, f"accepts {', '.join(other)}; {wanted}",
                        TlsReason.PROTOCOL_NOT_ALLOWED, evidence)
    unknown = [a for a in facts.attempts if a.accepted is None]
    if unknown:
        first = unknown[0]
        return _finding(check, facts, Outcome.ERROR,
                        f"could not tell whether {first.version} is accepted: {first.reason} "
                        f"({first.detail})", first.reason or Reason.UNKNOWN_ERROR, evidence)
    return _finding(check, facts, Outcome.PASS,
                    f"accepts {', '.join(facts.accepted)}; {wanted}", None, evidence)


def cipher(facts: TlsFacts, policy: TlsPolicy, now: float) -> Finding:
    """``tls.cipher``: the suite negotiated on each accepted version is not broken, and
    is forward-secret / AEAD when the policy requires it; offered only RC4, 3DES,
    export and NULL suites (a hand-built hello), the server refuses."""
    check = "tls.cipher"
    if (early := _unreachable(check, facts)) is not None:
        return early
    negotiated = {a.version: a.cipher for a in facts.attempts if a.accepted and a.cipher}
    legacy = facts.legacy_ciphers
    evidence = {"negotiated": dict(negotiated), "alpn": facts.alpn,
                "ocsp_stapled": facts.ocsp_stapled,
                "legacy_suites": None if legacy is None else {
                    "accepted": legacy.accepted, "cipher": legacy.cipher,
                    "reason": legacy.reason, "detail": legacy.detail}}
    problems = [p for v, c in negotiated.items() if (p := cipher_problem(c, v, policy))]
    if legacy is not None and legacy.accepted:
        problems.append(f"{legacy.cipher} when offered only RC4/3DES/export/NULL suites")
    if problems:
        return _finding(check, facts, Outcome.FAIL, "negotiates " + "; ".join(problems),
                        TlsReason.WEAK_CIPHER, evidence)
    if legacy is not None and legacy.accepted is None:
        return _finding(check, facts, Outcome.ERROR,
                        f"could not tell whether legacy suites are accepted: {legacy.reason} "
                        f"({legacy.detail})", legacy.reason or Reason.UNKNOWN_ERROR, evidence)
    shown = ", ".join(f"{c} on {v}" for v, c in negotiated.items())
    return _finding(check, facts, Outcome.PASS, f"negotiates {shown}", None, evidence)


def _with_chain(check: str, facts: TlsFacts,
                judge: Callable[[ChainFacts], Finding]) -> Finding:
    if (early := _unreachable(check, facts)) is not None:
        return early
    if facts.chain is None:
        return _finding(check, facts, Outcome.ERROR, "sent no certificate we could read",
                        Reason.UNKNOWN_ERROR)
    return judge(facts.chain)


def _cert_json(cert: CertFacts, now: float) -> dict[str, JSON]:
    return {"subject": cert.subject, "issuer": cert.issuer, "sans": list(cert.sans),
            "not_before": cert.not_before, "not_after": cert.not_after,
            "days_left": round((cert.not_after - now) / DAY, 2), "key": cert.key_type,
            "bits": cert.key_bits, "signature_hash": cert.signature_hash,
            "sent": cert.sent, "sha256": cert.fingerprint}


def _chain_json(chain: ChainFacts, now: float) -> dict[str, JSON]:
    return {"status": chain.status, "detail": chain.detail, "sent": chain.sent,
            "path": [_cert_json(c, now) for c in chain.path]}


def cert_chain(facts: TlsFacts, policy: TlsPolicy, now: float) -> Finding:
    """``tls.cert_chain``: the chain the server sends leads to a trusted root."""
    def judge(chain: ChainFacts) -> Finding:
        evidence = _chain_json(chain, now)
        if chain.status != "trusted":
            return _finding("tls.cert_chain", facts, Outcome.FAIL,
                            f"certificate chain is not trusted ({chain.status}): {chain.detail}",
                            chain.status, evidence)
        return _finding("tls.cert_chain", facts, Outcome.PASS,
                        f"chain of {len(chain.path)} leads to {chain.path[-1].subject}",
                        None, evidence)
    return _with_chain("tls.cert_chain", facts, judge)


def cert_hostname(facts: TlsFacts, policy: TlsPolicy, now: float) -> Finding:
    """``tls.cert_hostname``: the leaf names the server name we asked for (SAN)."""
    def judge(chain: ChainFacts) -> Finding:
        evidence = {"server_name": chain.server_name, "sans": list(chain.leaf.sans)}
        if not chain.hostname_matches:
            return _finding("tls.cert_hostname", facts, Outcome.FAIL,
                            f"certificate names {', '.join(chain.leaf.sans) or 'no SAN'}, "
                            f"not {chain.server_name}", TlsReason.HOSTNAME_MISMATCH, evidence)
        return _finding("tls.cert_hostname", facts, Outcome.PASS,
                        f"certificate names {chain.server_name}", None, evidence)
    return _with_chain("tls.cert_hostname", facts, judge)


def cert_expiry(facts: TlsFacts, policy: TlsPolicy, now: float) -> Finding:
    """``tls.cert_expiry``: every certificate of the path is valid now and for longer
    than the policy's thresholds (warn below ``cert_warn_days``, fail below
    ``cert_fail_days``). Metrics: the leaf's days left and the chain's (soonest)."""
    check = "tls.cert_expiry"

    def judge(chain: ChainFacts) -> Finding:
        leaf_days = (chain.leaf.not_after - now) / DAY
        soonest = min(chain.path, key=lambda c: c.not_after)
        chain_days = (soonest.not_after - now) / DAY
        metrics = {"tls.cert.days_to_expiry": round(leaf_days, 2),
                   "tls.cert.chain_days_to_expiry": round(chain_days, 2)}
        evidence = {"leaf_days_left": round(leaf_days, 2),
                    "chain_days_left": round(chain_days, 2), "soonest": soonest.subject,
                    "warn_days": policy.cert_warn_days, "fail_days": policy.cert_fail_days,
                    "path": [_cert_json(c, now) for c in chain.path]}
        early = [c for c in chain.path if c.not_before > now]
        which = "certificate" if soonest is chain.leaf else f"chain certificate {soonest.subject}"
        if early:
            days = (early[0].not_before - now) / DAY
            return _finding(check, facts, Outcome.FAIL,
                            f"certificate {early[0].subject} is not valid for {days:.1f} more days",
                            TlsReason.NOT_YET_VALID, evidence, metrics)
        if chain_days < 0:
            return _finding(check, facts, Outcome.FAIL,
                            f"{which} expired {-chain_days:.1f} days ago", TlsReason.EXPIRED,
                            evidence, metrics)
        text = f"{which} expires in {chain_days:.1f} days"
        if chain_days < policy.cert_fail_days:
            return _finding(check, facts, Outcome.FAIL,
                            f"{text} (policy {policy.name} fails below {policy.cert_fail_days})",
                            TlsReason.EXPIRING_SOON, evidence, metrics)
        if chain_days < policy.cert_warn_days:
            return _finding(check, facts, Outcome.WARN,
                            f"{text} (policy {policy.name} warns below {policy.cert_warn_days})",
                            TlsReason.EXPIRING_SOON, evidence, metrics)
        return _finding(check, facts, Outcome.PASS, text, None, evidence, metrics)
    return _with_chain(check, facts, judge)


def _judged(chain: ChainFacts) -> tuple[CertFacts, ...]:
    """The certificates whose keys and signatures matter: all but a trust anchor."""
    if chain.status == "trusted" and len(chain.path) > 1 and not chain.path[-1].sent:
        return chain.path[:-1]
    return chain.path


def cert_key(facts: TlsFacts, policy: TlsPolicy, now: float) -> Finding:
    """``tls.cert_key``: RSA keys of at least ``min_rsa_bits``, EC of ``min_ec_bits``, no DSA."""
    def judge(chain: ChainFacts) -> Finding:
        weak = []
        for cert in _judged(chain):
            minimum = {"rsa": policy.min_rsa_bits, "ec": policy.min_ec_bits}.get(cert.key_type, 0)
            if cert.key_type == "dsa" or cert.key_bits < minimum:
                weak.append(f"{cert.subject} has a {cert.key_type.upper()} {cert.key_bits}-bit key")
        evidence = {"keys": [{"subject": c.subject, "key": c.key_type, "bits": c.key_bits}
                             for c in _judged(chain)]}
        if weak:
            return _finding("tls.cert_key", facts, Outcome.FAIL,
                            f"{'; '.join(weak)} (policy {policy.name}: RSA >= "
                            f"{policy.min_rsa_bits}, EC >= {policy.min_ec_bits})",
                            TlsReason.WEAK_KEY, evidence)
        leaf = chain.leaf
        return _finding("tls.cert_key", facts, Outcome.PASS,
                        f"leaf key {leaf.key_type.upper()} {leaf.key_bits} bits", None, evidence)
    return _with_chain("tls.cert_key", facts, judge)


def cert_signature(facts: TlsFacts, policy: TlsPolicy, now: float) -> Finding:
    """``tls.cert_signature``: no certificate of the chain is signed with a forbidden hash."""
    def judge(chain: ChainFacts) -> Finding:
        bad = [c for c in _judged(chain) if c.signature_hash in policy.forbidden_signature_hashes]
        evidence = {"signatures": [{"subject": c.subject, "hash": c.signature_hash}
                                   for c in _judged(chain)]}
        if bad:
            shown = "; ".join(f"{c.subject} is signed with {c.signature_hash}" for c in bad)
            return _finding("tls.cert_signature", facts, Outcome.FAIL, shown,
                            TlsReason.WEAK_SIGNATURE, evidence)
        return _finding("tls.cert_signature", facts, Outcome.PASS,
                        f"leaf signed with {chain.leaf.signature_hash}", None, evidence)
    return _with_chain("tls.cert_signature", facts, judge)


#: check id -> rule, for tests and tooling.
RULES: dict[str, Callable[[TlsFacts, TlsPolicy, float], Finding]] = {
    "tls.versions": versions,
    "tls.cert_chain": cert_chain,
    "tls.cert_hostname": cert_hostname,
    "tls.cert_expiry": cert_expiry,
    "tls.cert_key": cert_key,
    "tls.cert_signature": cert_signature,
    "tls.cipher": cipher,
}
