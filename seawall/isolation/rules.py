"""The verdict rule, written down in one place. Pure: facts + policy + now -> Finding.

One-sided, like a smoke detector:

1. a single leak toward a forbidden destination is a FAIL, whatever retries or other
   attempts say (a leak is proven by a signed canary answer, any other answer, an ARP
   reply, a logged spoofed datagram, or an available raw socket the policy forbids);
2. a cell is isolated (PASS) only when it had attempts, every one of them ended
   blocked (refused, unreachable, timeout, no raw socket) AND every same-run positive
   control succeeded (the source's own canary, the allowed destination, and the
   destination's own canary);
3. anything else is ERROR (inconclusive): a failed control (``control_failed``), an
   attempt we could not make (its reason), a probe that did not run. Silence without
   working controls proves nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from seawall.isolation.facts import AttemptFacts, CellFacts, IsolationReason
from seawall.isolation.plan import check_of
from seawall.isolation.policy import IsolationPolicy
from seawall.model import Finding, Outcome
from seawall.reasons import Reason

LEAKS = frozenset({
    IsolationReason.REACHED_CANARY, IsolationReason.REACHED_OTHER, IsolationReason.L2_VISIBLE,
    IsolationReason.SPOOF_DELIVERED, IsolationReason.RAW_SOCKET_AVAILABLE,
    IsolationReason.ICMP_TUNNEL_OPEN, IsolationReason.DNS_ANSWERED,
})
BLOCKED = frozenset({Reason.REFUSED, Reason.UNREACHABLE, Reason.TIMEOUT,
                     IsolationReason.NO_RAW_SOCKET, IsolationReason.NO_ICMP_SOCKET})


def _where(attempt: AttemptFacts) -> str:
    host = f"[{attempt.host}]" if ":" in attempt.host else attempt.host
    return f"{host}:{attempt.port}" if attempt.port else host or "local"


def _leaks(facts: CellFacts, policy: IsolationPolicy) -> list[AttemptFacts]:
    leaks = [a for a in facts.attempts if a.result in LEAKS]
    if policy.allow_raw_sockets:
        leaks = [a for a in leaks if a.result != IsolationReason.RAW_SOCKET_AVAILABLE]
    return leaks


def _make(facts: CellFacts, *, outcome: Outcome, summary: str,
          evidence: dict[str, Any], metrics: dict[str, float], reason: str | None = None
          ) -> Finding:
    return Finding(check=check_of(facts.cell), target=facts.cell.id, outcome=outcome,
                   reason=reason, summary=summary, observed_at=facts.observed_at,
                   evidence=evidence, metrics=metrics)


def verdict(facts: CellFacts, policy: IsolationPolicy, now: float) -> Finding:
    """The finding for one cell (see the module docstring for the rule)."""
    cell = facts.cell
    counts = Counter(a.result for a in facts.attempts)
    evidence: dict[str, Any] = {
        "source": cell.source, "destination": cell.destination, "protocol": cell.protocol,
        "results": dict(counts), "controls": [c.to_json() for c in facts.controls],
    }
    metrics = {"isolation.attempts": float(len(facts.attempts))}
    leaks = _leaks(facts, policy)
    if leaks:
        first = leaks[0]
        what = {
            IsolationReason.REACHED_CANARY: "reached the destination's canary at",
            IsolationReason.REACHED_OTHER: "got an answer (not the canary) from",
            IsolationReason.L2_VISIBLE: "sees the destination's MAC on its link for",
            IsolationReason.SPOOF_DELIVERED: "delivered a forged-source datagram to",
            IsolationReason.RAW_SOCKET_AVAILABLE: "can open raw sockets (CAP_NET_RAW),",
            IsolationReason.ICMP_TUNNEL_OPEN: "tunnels data through ICMP echo (unprivileged "
                                              "socket) to",
            IsolationReason.DNS_ANSWERED: "got a DNS answer (exfiltration path) from",
        }[IsolationReason(first.result)]
        more = f" (+{len(leaks) - 1} more)" if len(leaks) > 1 else ""
        summary = (f"LEAK {cell.source} {what} {cell.destination} {_where(first)} "
                   f"over {cell.protocol}{more}; policy {policy.name} forbids it")
        return _make(facts, outcome=Outcome.FAIL, reason=first.result, summary=summary,
                       evidence={**evidence, "leaks": [a.to_json() for a in leaks]},
                       metrics={**metrics, "isolation.leaks": float(len(leaks))})
    evidence["attempts"] = [a.to_json() for a in facts.attempts]
    if facts.problem is not None:
        return _make(facts, outcome=Outcome.ERROR, reason=facts.problem, evidence=evidence,
                       summary=f"{cell.id}: could not probe ({facts.problem}: {facts.detail})",
                       metrics=metrics)
    failed = [c for c in facts.controls if not c.ok]
    if failed:
        names = ", ".join(f"{c.name} {c.target} ({c.result})" for c in failed)
        return _make(facts, outcome=Outcome.ERROR, reason=Reason.CONTROL_FAILED,
                       evidence=evidence, metrics=metrics,
                       summary=f"{cell.id}: inconclusive, positive control failed: {names}")
    unsure = [a for a in facts.attempts if a.result not in BLOCKED]
    if not facts.attempts or unsure:
        reason = unsure[0].result if unsure else Reason.PROBE_CRASHED
        detail = f"{_where(unsure[0])} ended {reason}" if unsure else "no attempt was made"
        return _make(facts, outcome=Outcome.ERROR, reason=reason, evidence=evidence,
                       metrics=metrics, summary=f"{cell.id}: inconclusive, {detail}")
    blocked = ", ".join(f"{n} {r}" for r, n in sorted(counts.items()))
    return _make(facts, outcome=Outcome.PASS, evidence=evidence, metrics=metrics,
                   summary=f"{cell.id}: isolated ({blocked}; controls ok)")
