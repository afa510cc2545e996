"""What the isolation engine saw: frozen facts per cell, including why it could not look.

Each attempt ends as one result, a reason value: a leak (``reached_canary``,
``reached_other``, ``l2_visible``, ``spoof_delivered``, ``raw_socket_available``,
``icmp_tunnel_open``, ``dns_answered``), a blocked outcome (``refused``,
``unreachable``, ``timeout``, ``no_raw_socket``, ``no_icmp_socket``), or a
could-not-look reason (``local_policy``, ``not_permitted``, ``no_address``,
``probe_crashed``, ``unknown_error``). Judging is :mod:`seawall.isolation.rules`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seawall.targets import Cell


class IsolationReason(enum.StrEnum):
    """Reasons of the isolation suite (unique across suites; see seawall/reasons.py)."""

    REACHED_CANARY = "reached_canary"  # the destination's canary answered, signed: a leak
    REACHED_OTHER = "reached_other"  # something else answered (not the canary): a leak
    L2_VISIBLE = "l2_visible"  # another sandbox answered ARP: same L2 segment
    SPOOF_DELIVERED = "spoof_delivered"  # a forged-source datagram reached the canary
    RAW_SOCKET_AVAILABLE = "raw_socket_available"  # the sandbox has CAP_NET_RAW
    ICMP_TUNNEL_OPEN = "icmp_tunnel_open"  # an echo reply carried our payload back
    DNS_ANSWERED = "dns_answered"  # a resolver answered (the name left the sandbox)
    NO_ICMP_SOCKET = "no_icmp_socket"  # the unprivileged ICMP socket was refused
    NO_RAW_SOCKET = "no_raw_socket"  # a raw socket was refused: L2/spoofing impossible
    NO_ADDRESS = "no_address"  # the destination has no address of this family
    NO_SANDBOX = "no_sandbox"  # the sandbox could not be launched or attached to


@dataclass(frozen=True, kw_only=True)
class AttemptFacts:
    """One attempt: what (``kind`` to ``host``:``port``) and how it ended (``result``,
    a reason value), with the agent's raw observation in ``detail`` (plain JSON)."""

    kind: str
    host: str
    port: int | None
    result: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for evidence."""
        return {"kind": self.kind, "host": self.host, "port": self.port,
                "result": self.result, **{k: v for k, v in self.detail.items()
                                          if k in ("errno", "answer_name", "banner", "mac",
                                                   "from", "peer", "local", "elapsed", "rcode",
                                                   "bytes")}}


@dataclass(frozen=True, kw_only=True)
class ControlFacts:
    """A same-run positive control: ``name`` (``self``, ``allowed:<label>``,
    ``destination-self``), where it went, whether it succeeded and how it ended."""

    name: str
    sandbox: str
    target: str
    ok: bool
    result: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for evidence."""
        return {"name": self.name, "sandbox": self.sandbox, "target": self.target,
                "ok": self.ok, "result": self.result}


@dataclass(frozen=True, kw_only=True)
class CellFacts:
    """Everything seen for one cell. ``problem`` is a reason when the cell could not be
    probed at all (the probe crashed, the sandbox did not start), with ``detail``."""

    cell: Cell
    observed_at: float
    attempts: tuple[AttemptFacts, ...] = ()
    controls: tuple[ControlFacts, ...] = ()
    problem: str | None = None
    detail: str = ""
