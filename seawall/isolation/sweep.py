"""The optional full-range TCP sweep of a pair cell (``full_sweep``, off by default).

Each SYN to a dropped port can hold a conntrack entry on the node for minutes, so the
default is the canary ports and the configured list under a rate cap; the sweep is an
explicit option (``[isolation] full_sweep = true``, ``sweep_range``), still under the
rate cap. The agent sweeps the range with its epoll loop and hands back counts by
outcome plus the open ports with what answered (:func:`seawall.agent.probe.sweep`);
this module turns that into attempt facts: one per open port (a leak) and one summary
for the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from seawall.isolation.facts import AttemptFacts, IsolationReason
from seawall.reasons import Reason
from seawall.runtime.base import Sandbox
from seawall.targets import Cell

#: the agent's raw outcome labels of a blocked attempt -> reason
BLOCKED = {"timeout": Reason.TIMEOUT, "ECONNREFUSED": Reason.REFUSED,
           "EHOSTUNREACH": Reason.UNREACHABLE, "ENETUNREACH": Reason.UNREACHABLE}


def plan(cells: Sequence[Cell], members: Mapping[str, Sandbox], *, first: int, last: int,
         timeout: float, timeout_v6: float) -> dict[str, tuple[Cell, dict[str, Any]]]:
    """Sweep specs by id (``sweep:<cell id>``) for the TCP pair cells among ``cells``."""
    out: dict[str, tuple[Cell, dict[str, Any]]] = {}
    for cell in cells:
        dst = members.get(cell.destination)
        if dst is None or cell.protocol not in ("tcp", "tcp6"):
            continue
        host = dst.ipv6 if cell.protocol == "tcp6" else dst.ipv4
        if host:
            out[f"sweep:{cell.id}"] = (cell, {
                "host": host, "first": first, "last": last,
                "timeout": timeout_v6 if cell.protocol == "tcp6" else timeout})
    return out


def seconds(ports: int, *, rate: float, in_flight: int, timeout: float) -> float:
    """An upper bound for sweeping ``ports`` ports (rate cap or in-flight bound)."""
    by_rate = ports / rate if rate > 0 else 0.0
    return max(by_rate, ports / max(1, in_flight) * timeout) + timeout


def facts(cell: Cell, spec: Mapping[str, Any], result: Mapping[str, Any] | None
          ) -> list[AttemptFacts]:
    """Attempt facts of one sweep: each open port (reached_canary when the destination's
    canary signed the answer, else reached_other), and one ``sweep`` summary whose
    result is the blocked reason seen, or what made the sweep inconclusive."""
    host = str(spec["host"])
    if not result or "counts" not in result:
        return [AttemptFacts(kind="sweep", host=host, port=None, result=Reason.PROBE_CRASHED,
                             detail={"errno": "no sweep result"})]
    out = []
    answers: Mapping[str, Any] = result.get("answers", {})
    for port in result.get("open", []):
        answer = answers.get(str(port), {})
        signed = answer.get("answer_valid") and answer.get("answer_name") == cell.destination
        out.append(AttemptFacts(
            kind="tcp", host=host, port=int(port), detail=dict(answer),
            result=IsolationReason.REACHED_CANARY if signed else IsolationReason.REACHED_OTHER))
    counts: Mapping[str, int] = result["counts"]
    rest = {k: n for k, n in counts.items() if k != "connected"}
    unsure = sorted(k for k in rest if k not in BLOCKED)
    if unsure:
        summary = Reason.LOCAL_POLICY if unsure[0] == "EPERM" else Reason.UNKNOWN_ERROR
    elif rest:
        summary = BLOCKED[max(rest, key=lambda k: rest[k])]
    else:
        return out
    ports = f"{spec['first']}-{spec['last']}"
    out.append(AttemptFacts(kind="sweep", host=host, port=None, result=summary,
                            detail={"errno": ", ".join(f"{k}={n}" for k, n in sorted(
                                rest.items())), "banner": f"ports {ports}",
                                    "elapsed": result.get("elapsed")}))
    return out
