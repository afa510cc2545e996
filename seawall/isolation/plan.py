"""Fleets and their cells: what the isolation suite will try, before anything runs.

A :class:`FleetPlan` is static (from the configuration or the lab catalogue): its
sandboxes, the destinations beyond them (host, metadata, configured ones), the
positive-control destinations that must stay reachable, and the ports to try. Its
cells are derived from it by :func:`cells_for`, cheaply and without side effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seawall.targets import Cell, SandboxSpec

#: protocol of a cell -> the check id its finding is reported under.
CHECKS = {
    "tcp": "isolation.tcp", "tcp6": "isolation.tcp", "udp": "isolation.udp",
    "udp6": "isolation.udp", "icmp": "isolation.icmp", "icmp6": "isolation.icmp",
    "l2": "isolation.l2", "ndp": "isolation.l2", "spoof": "isolation.spoof",
    "raw": "isolation.raw_socket", "dns": "isolation.dns", "icmp_tunnel": "isolation.icmp_tunnel",
}
PAIR_PROTOCOLS = ("tcp", "udp", "icmp", "tcp6", "udp6", "icmp6", "l2", "ndp", "spoof")
METADATA_ADDRESSES = ("169.254.169.254", "fd00:ec2::254")


@dataclass(frozen=True, kw_only=True)
class Destination:
    """An address and port outside the fleet: host, control plane, metadata, allowed.

    ``canary`` is the name whose signed answer proves we reached it (the lab's host
    runs an agent), or empty when anything answering counts."""

    label: str
    host: str
    port: int
    canary: str = ""


@dataclass(frozen=True, kw_only=True)
class FleetPlan:
    """One fleet of sandboxes and everything tried from each of them.

    ``resolvers``: DNS resolvers a sandbox must not be able to query (exfiltration);
    ``tunnel_hosts``: addresses an ICMP echo tunnel must not reach (no network at all)."""

    name: str
    runtime: str = "netns"
    sandboxes: tuple[SandboxSpec, ...] = ()
    canary_tcp: tuple[int, ...] = (22, 80, 443, 8080)
    canary_udp: tuple[int, ...] = (7,)
    ports: tuple[int, ...] = ()
    ipv6: bool = True
    l2: bool = True
    forbidden: tuple[Destination, ...] = ()
    allowed: tuple[Destination, ...] = ()
    resolvers: tuple[Destination, ...] = ()
    tunnel_hosts: tuple[str, ...] = ()
    spoof_source: str = "198.18.255.250"
    timeout: float = 1.0
    timeout_v6: float = 1.5
    max_in_flight: int = 512
    rate: float = 0.0
    full_sweep: bool = False
    sweep_range: tuple[int, int] = (1, 65535)
    hub: SandboxSpec | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)


def forbidden_groups(fleet: FleetPlan) -> dict[str, tuple[Destination, ...]]:
    """Forbidden destinations grouped by label (one cell per label and family)."""
    groups: dict[str, list[Destination]] = {}
    for dest in fleet.forbidden:
        groups.setdefault(dest.label, []).append(dest)
    return {label: tuple(dests) for label, dests in groups.items()}


def cells_for(fleet: FleetPlan) -> tuple[Cell, ...]:
    """Every cell of ``fleet``: each sandbox to each other sandbox for each protocol,
    each sandbox to each forbidden destination (tcp), to the resolvers (``dns``) and
    tunnel hosts (``icmp_tunnel``) when configured, and each sandbox's raw sockets."""
    v6_only = ("tcp6", "udp6", "icmp6", "ndp")
    protocols = [p for p in PAIR_PROTOCOLS
                 if (fleet.ipv6 or p not in v6_only)
                 and (fleet.l2 or p not in ("l2", "ndp", "spoof"))]
    cells: list[Cell] = []
    for source in fleet.sandboxes:
        for dest in fleet.sandboxes:
            if dest.id != source.id:
                cells.extend(Cell(source=source.id, destination=dest.id, protocol=p)
                             for p in protocols)
        for label in forbidden_groups(fleet):
            cells.append(Cell(source=source.id, destination=label, protocol="tcp"))
        if fleet.resolvers:
            cells.append(Cell(source=source.id, destination="dns", protocol="dns"))
        if fleet.tunnel_hosts:
            cells.append(Cell(source=source.id, destination="tunnel", protocol="icmp_tunnel"))
        if fleet.l2:
            cells.append(Cell(source=source.id, destination="any", protocol="raw"))
    return tuple(cells)


def check_of(cell: Cell) -> str:
    """The check id of a cell: ``isolation.metadata`` for the metadata service,
    ``isolation.host`` for other forbidden destinations (host, control plane, configured
    labels: they contain no dot, sandbox ids do), else by protocol (``isolation.tcp``)."""
    if cell.destination == "metadata":
        return "isolation.metadata"
    if cell.protocol in ("dns", "icmp_tunnel"):
        return CHECKS[cell.protocol]
    if cell.protocol == "tcp" and "." not in cell.destination:
        return "isolation.host"
    return CHECKS.get(cell.protocol, "isolation.other")
