"""Pure judgement of at_rest facts: facts + policy + now -> Finding. No I/O.

- :func:`encrypted` (``at_rest.encrypted``): the canary proof. A canary read back from
  the medium fails; a canary absent while the control was found passes; a control not
  found is inconclusive (``control_failed``); no look at the medium is a weaker result
  (warn or error by policy), never a pass.
- :func:`mechanism` (``at_rest.mechanism``): the stack has the promised mechanism, and
  it really encrypts (a LUKS header over plaintext does not).
"""

from __future__ import annotations

from seawall.at_rest.facts import AtRestReason, DataPathFacts, Mechanism, MechanismFact
from seawall.at_rest.policy import DataPathPolicy
from seawall.model import Finding, Outcome
from seawall.reasons import Reason

CHECK_ENCRYPTED = "at_rest.encrypted"
CHECK_MECHANISM = "at_rest.mechanism"


def _finding(check: str, facts: DataPathFacts, outcome: Outcome, reason: str | None,
             summary: str, now: float, metrics: dict[str, float] | None = None) -> Finding:
    del now  # facts carry their own observed_at; kept for the rule signature
    return Finding(check=check, target=facts.path, outcome=outcome, reason=reason,
                   summary=f"{facts.path}: {summary}", observed_at=facts.observed_at,
                   evidence=facts.evidence(), metrics=metrics or {})


def _kib(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 10 * 1024 * 1024 else f"{n / 2**20:.0f} MiB"


def _encrypting(facts: DataPathFacts) -> list[MechanismFact]:
    return [m for m in facts.mechanisms if m.encrypts]


def _fake(facts: DataPathFacts) -> list[MechanismFact]:
    return [m for m in facts.mechanisms if not m.encrypts]


def _stack_line(facts: DataPathFacts, *, confirmed: bool = False) -> str:
    tag = " (confirmed by the canary)" if confirmed else " (hint)"
    names = [m.kind.value + (tag if m.hint else "") for m in _encrypting(facts)]
    return ", ".join(names) if names else "no encrypting layer"


def encrypted(facts: DataPathFacts, policy: DataPathPolicy, now: float) -> Finding:
    """``at_rest.encrypted``: a fresh canary never reaches the medium in plaintext."""
    check = CHECK_ENCRYPTED
    if facts.reason:
        return _finding(check, facts, Outcome.ERROR, facts.reason,
                        f"could not look: {facts.detail}", now)
    proof = facts.canary
    metrics: dict[str, float] = {}
    if proof and proof.canary.found is not None:
        metrics = {"at_rest.canary.found": float(proof.canary.found),
                   "at_rest.canary.bytes_read": float(proof.canary.bytes_read)}
    if not policy.expect_encrypted:
        seen = "canary readable on the medium" if proof and proof.canary.found else (
            "canary not found on the medium" if proof and proof.canary.found is False
            else "medium not read")
        return _finding(check, facts, Outcome.PASS, None,
                        f"plaintext allowed by policy ({seen}; {_stack_line(facts)})", now, metrics)
    fake = [m for m in _fake(facts) if m.kind is Mechanism.LUKS]  # header over plaintext
    if proof is None or proof.canary.found is None:
        why = "canary disabled by policy" if proof is None else (
            f"{proof.canary.reason}: {proof.canary.detail}")
        reason = (AtRestReason.MEDIUM_OUT_OF_REACH if proof and proof.canary.reason
                  == AtRestReason.MEDIUM_OUT_OF_REACH else AtRestReason.STACK_ONLY)
        if fake:
            return _finding(check, facts, Outcome.FAIL, AtRestReason.HEADER_WITHOUT_ENCRYPTION,
                            f"{fake[0].kind.value} on {fake[0].layer} does not encrypt "
                            f"({_problems(fake[0])}); medium not read ({why})", now)
        if proof and proof.canary.reason not in (None, Reason.NOT_PERMITTED,
                                                 AtRestReason.MEDIUM_OUT_OF_REACH):
            return _finding(check, facts, Outcome.ERROR, proof.canary.reason,
                            f"canary check failed: {why}", now)
        return _finding(check, facts, policy.unprivileged, reason,
                        f"stack only, no canary proof ({why}); stack shows {_stack_line(facts)}",
                        now)
    seen_c = proof.canary
    if seen_c.found:
        if policy.mechanism is Mechanism.BELOW_OS:
            return _finding(check, facts, Outcome.WARN, AtRestReason.BELOW_OS_UNVERIFIED,
                            f"canary is plaintext on {seen_c.medium}, the lowest layer we can "
                            "read; encryption below the OS cannot be verified from here",
                            now, metrics)
        reason = AtRestReason.HEADER_WITHOUT_ENCRYPTION if fake else (
            AtRestReason.PLAINTEXT_ON_MEDIUM)
        return _finding(check, facts, Outcome.FAIL, reason,
                        f"canary read back in plaintext from {seen_c.medium} at offset "
                        f"{seen_c.offset} ({seen_c.method}, {_kib(seen_c.bytes_read)} read); "
                        f"policy requires {policy.label}; stack shows {_stack_line(facts)}",
                        now, metrics)
    control = proof.control
    if control is None or control.found is not True:
        why = "no control" if control is None else (
            control.detail or f"control canary in {control.written_in} not found on "
            f"{control.medium} ({control.method})")
        if control is not None and control.reason:
            why = f"{control.reason}: {control.detail}"
        return _finding(check, facts, Outcome.ERROR, Reason.CONTROL_FAILED,
                        f"canary not found, but neither was the control ({why}): "
                        "inconclusive", now, metrics)
    if fake:
        return _finding(check, facts, Outcome.FAIL, AtRestReason.HEADER_WITHOUT_ENCRYPTION,
                        f"{fake[0].kind.value} on {fake[0].layer} does not encrypt "
                        f"({_problems(fake[0])})", now, metrics)
    return _finding(check, facts, Outcome.PASS, None,
                    f"canary absent from {seen_c.medium} ({seen_c.method}, "
                    f"{_kib(seen_c.bytes_read)} read), control found; "
                    f"{_stack_line(facts, confirmed=True)}",
                    now, metrics)


def _header_only(check: str, facts: DataPathFacts, m: MechanismFact, now: float) -> Finding:
    return _finding(check, facts, Outcome.FAIL, AtRestReason.HEADER_WITHOUT_ENCRYPTION,
                    f"{m.kind.value} on {m.layer} does not encrypt ({_problems(m)})", now)


def _problems(m: MechanismFact) -> str:
    problems = m.detail.get("problems")
    if isinstance(problems, list) and problems:
        return "; ".join(str(p) for p in problems)
    return str(m.detail.get("uuid") or "look-alike, not encryption")


def _is(m: MechanismFact, want: Mechanism) -> bool:
    """Whether ``m`` is the wanted mechanism; a dm-crypt uuid ``CRYPT-LUKS2-...`` names
    LUKS even when its header could not be read (no privilege)."""
    if m.kind is want:
        return True
    return (want is Mechanism.LUKS and m.kind is Mechanism.DM_CRYPT
            and str(m.detail.get("type", "")).startswith("LUKS"))


def mechanism(facts: DataPathFacts, policy: DataPathPolicy, now: float) -> Finding:
    """``at_rest.mechanism``: the promised mechanism is in the stack and encrypts."""
    check = CHECK_MECHANISM
    if facts.reason:
        return _finding(check, facts, Outcome.ERROR, facts.reason,
                        f"could not look: {facts.detail}", now)
    if not policy.expect_encrypted:
        return _finding(check, facts, Outcome.PASS, None,
                        f"plaintext allowed by policy; stack shows {_stack_line(facts)}", now)
    want = policy.mechanism
    if want is Mechanism.BELOW_OS:
        return _finding(check, facts, Outcome.WARN, AtRestReason.BELOW_OS_UNVERIFIED,
                        "encryption below the OS is not visible from here; stack shows "
                        f"{_stack_line(facts)}", now)
    # A LUKS header over plaintext decides first: the dm-crypt mapping over it (a
    # reencryption that never ran) does not encrypt, whatever its uuid says.
    broken = [m for m in _fake(facts) if m.kind is Mechanism.LUKS]
    others = [m for m in _encrypting(facts)
              if m.kind not in (Mechanism.LUKS, Mechanism.DM_CRYPT)]
    if broken and (want in (Mechanism.LUKS, Mechanism.DM_CRYPT) or (want is None
                                                                    and not others)):
        return _header_only(check, facts, broken[0], now)
    good = [m for m in _encrypting(facts) if want is None or _is(m, want)]
    if good:
        m = good[0]
        hint = " (a hint until the canary confirms it)" if m.hint else ""
        return _finding(check, facts, Outcome.PASS, None,
                        f"{m.kind.value} on {m.layer}{hint}", now)
    look_alike = [m for m in _fake(facts) if m.kind is want]  # dm-verity for dm-crypt
    if look_alike:
        return _header_only(check, facts, look_alike[0], now)
    if _encrypting(facts):
        return _finding(check, facts, Outcome.FAIL, AtRestReason.MECHANISM_MISMATCH,
                        f"policy requires {policy.label}; stack shows {_stack_line(facts)}",
                        now)
    return _finding(check, facts, Outcome.FAIL, AtRestReason.NO_ENCRYPTION_LAYER,
                    f"policy requires {policy.label}; no encrypting layer in the stack "
                    f"({' > '.join(layer.kind + ':' + layer.name for layer in facts.stack)})",
                    now)
