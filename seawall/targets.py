"""What configuration describes: the things Seawall probes. Frozen, typed, no I/O.

Each target has a stable, human ``id`` that becomes the pytest id and the Datadog
``target:`` tag: ``host:port`` (brackets for IPv6), ``src->dst/proto``, a mount path.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path


def host_port(host: str, port: int) -> str:
    """``host:port``, with brackets around an IPv6 literal."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """A TLS endpoint: where to connect, what name to ask for, which policy applies.

    ``host`` is what we connect to, ``sni`` the server name we send and verify
    (defaults to ``host``). ``ca_file`` adds a trust anchor on top of the system
    store; ``client_cert``/``client_key`` are presented for mTLS. ``name`` is an
    optional label (the lab uses it for its cases).
    """

    host: str
    port: int
    policy: str = "default"
    sni: str | None = None
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    name: str = ""

    @property
    def id(self) -> str:
        """``host:port``, or ``sni@host:port`` when the SNI name differs from the host."""
        base = host_port(self.host, self.port)
        if self.sni and self.sni != self.host:
            return f"{self.sni}@{base}"
        return base

    @property
    def server_name(self) -> str:
        """The name sent as SNI and checked against the certificate."""
        return self.sni or self.host


@dataclass(frozen=True, kw_only=True)
class WebService:
    """An HTTPS service whose plain-HTTP port must redirect (or be closed).

    ``http_port`` is the plain port probed, ``https_port`` the TLS one; ``path`` the
    path requested; ``ca_file`` an extra trust anchor for the HTTPS side.
    """

    host: str
    http_port: int = 80
    https_port: int = 443
    path: str = "/"
    policy: str = "default"
    ca_file: Path | None = None
    name: str = ""

    @property
    def id(self) -> str:
        """``host:https_port`` (the service as users reach it)."""
        return host_port(self.host, self.https_port)


#: Connect-to overrides, like ``curl --resolve``: (host, port) as named by a target ->
#: (address, port) actually dialled. The lab uses it to serve ``expired.lab.seawall.test:443``
#: from ``127.0.0.1:<ephemeral>`` while ids, SNI and Host headers stay as configured.
Overrides = dict[tuple[str, int], tuple[str, int]]


@dataclass(frozen=True, kw_only=True)
class DataPath:
    """A directory whose data must reach the storage medium encrypted (or may not).

    ``path`` is absolute; the at_rest probes write their canaries inside it. ``id`` is
    the path itself (stable: the pytest id and ``target:`` tag). ``name`` is an optional
    label (the lab uses it for its cases).
    """

    path: str
    name: str = ""

    @property
    def id(self) -> str:
        """The mount path, as configured."""
        return self.path


@dataclass(frozen=True, kw_only=True)
class SandboxSpec:
    """A sandbox the isolation suite launches (or attaches to) in a runtime.

    ``name`` is unique within its ``fleet``; ``namespace`` names an existing network
    namespace to attach to instead of creating one (netns runtime). ``drop_caps`` are
    capabilities the probe runs without (e.g. ``("net_raw",)``, like a default workload).
    """

    name: str
    fleet: str = ""
    namespace: str = ""
    drop_caps: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """``fleet.name`` (or ``name`` outside a fleet)."""
        return f"{self.fleet}.{self.name}" if self.fleet else self.name


@dataclass(frozen=True, kw_only=True)
class Cell:
    """One (source, destination, protocol) cell of the isolation matrix.

    ``source`` is a sandbox id; ``destination`` a sandbox id, ``metadata``, ``host``, a
    configured label, or ``any`` (for ``raw``); ``protocol`` one of tcp, tcp6, udp,
    udp6, icmp, icmp6, l2 (ARP), ndp, spoof, raw, dns, icmp_tunnel.
    """

    source: str
    destination: str
    protocol: str

    @property
    def id(self) -> str:
        """``src->dst/proto``, e.g. ``lab.a->lab.b/tcp``."""
        return f"{self.source}->{self.destination}/{self.protocol}"
