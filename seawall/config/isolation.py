"""``[isolation]``: the fleet to launch, what to try from each sandbox, and the controls.

::

    [isolation]
    runtime = "netns"                 # or "command" (see [isolation.command])
    sandboxes = ["tenant-a", "tenant-b"]  # netns: existing namespaces; command: names
    canary_tcp = [22, 80, 443, 8080]  # ports every canary listens on (+ 1 random high port)
    canary_udp = [7]
    ports = []                        # more TCP ports to try (no listener needed)
    full_sweep = false                # sweep a whole port range too (explicit: each SYN to a
    sweep_range = [1, 65535]          #   dropped port may hold conntrack); under the rate cap
    ipv6 = true
    l2 = true                         # ARP visibility, spoofing, raw sockets
    allow_raw_sockets = false
    timeout = 1.0                     # seconds per attempt (IPv4)
    timeout_v6 = 1.5                  # IPv6 needs at least 1.5 s
    max_in_flight = 512
    rate = 2000                       # attempts/s cap per sandbox (0: none)

    [[isolation.allowed]]             # required: positive controls that must be reachable
    label = "registry"
    host = "10.0.0.5"
    port = 443

    resolvers = []                    # DNS resolvers a sandbox must not query (exfiltration)
    tunnel_hosts = []                 # where an ICMP echo tunnel must not reach

    [[isolation.forbidden]]           # beyond the metadata service (always tried), e.g.
                                      # platform endpoints: 168.63.129.16, metadata.google.internal
    label = "kubelet"
    host = "10.0.0.1"
    port = 10250
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from seawall.config.reader import Table, is_host

RUNTIMES = ("netns", "command")
TEMPLATES = ("create", "exec", "address", "destroy")


@dataclass(frozen=True, kw_only=True)
class AddressConfig:
    """A labelled host and TCP port (allowed or forbidden destination)."""

    label: str
    host: str
    port: int


@dataclass(frozen=True, kw_only=True)
class IsolationConfig:
    """Settings of the isolation suite. ``sandboxes`` empty: nothing configured."""

    runtime: str = "netns"
    sandboxes: tuple[str, ...] = ()
    command: dict[str, str] = field(default_factory=dict)
    canary_tcp: tuple[int, ...] = (22, 80, 443, 8080)
    canary_udp: tuple[int, ...] = (7,)
    ports: tuple[int, ...] = ()
    full_sweep: bool = False
    sweep_range: tuple[int, int] = (1, 65535)
    ipv6: bool = True
    l2: bool = True
    allow_raw_sockets: bool = False
    timeout: float = 1.0
    timeout_v6: float = 1.5
    max_in_flight: int = 512
    rate: float = 2000.0
    allowed: tuple[AddressConfig, ...] = ()
    forbidden: tuple[AddressConfig, ...] = ()
    resolvers: tuple[str, ...] = ()
    tunnel_hosts: tuple[str, ...] = ()


def _addresses(t: Table, name: str) -> tuple[AddressConfig, ...]:
    out = []
    for item in t.tables(name):
        out.append(AddressConfig(label=item.text("label"), host=item.host("host"),
                                 port=item.port("port")))
        item.done()
    return tuple(out)


def _hosts(t: Table, name: str) -> tuple[str, ...]:
    hosts: tuple[str, ...] = t.str_list(name, ())
    for i, host in enumerate(hosts):
        if not is_host(host):
            raise t.error(f"{name}[{i}]", f"{host!r} is not a hostname or IP address",
                          "use an address like 10.0.0.2 or a DNS name")
    return hosts


def parse(t: Table, base: Path) -> IsolationConfig:
    """Read the ``[isolation]`` table."""
    if not t.raw:
        t.done()
        return IsolationConfig()
    runtime = t.text("runtime", "netns", choices=RUNTIMES)
    sandboxes = t.str_list("sandboxes")
    if len(sandboxes) < 2:
        raise t.error("sandboxes", f"has {len(sandboxes)} sandbox(es), isolation needs at least 2",
                      'list two or more, e.g. sandboxes = ["a", "b"]')
    command: dict[str, str] = {}
    table = t.table("command", required=runtime == "command")
    for key in TEMPLATES if runtime == "command" else ():
        command[key] = table.text(key)
    if runtime == "command" and "{command}" not in command["exec"]:
        raise table.error("exec", "has no {command} placeholder",
                          'e.g. exec = "docker exec -i {name} {command}"')
    table.done()
    config = IsolationConfig(
        runtime=runtime, sandboxes=sandboxes, command=command,
        canary_tcp=t.int_list("canary_tcp", (22, 80, 443, 8080), minimum=1, maximum=65535),
        canary_udp=t.int_list("canary_udp", (7,), minimum=1, maximum=65535),
        ports=t.int_list("ports", (), minimum=1, maximum=65535),
        full_sweep=t.flag("full_sweep", False), ipv6=t.flag("ipv6", True), l2=t.flag("l2", True),
        allow_raw_sockets=t.flag("allow_raw_sockets", False),
        timeout=t.number("timeout", 1.0, minimum=0.1, maximum=30),
        timeout_v6=t.number("timeout_v6", 1.5, maximum=30),
        max_in_flight=t.integer("max_in_flight", 512, minimum=1, maximum=16384),
        rate=t.number("rate", 2000.0, minimum=0),
        allowed=_addresses(t, "allowed"), forbidden=_addresses(t, "forbidden"),
    )
    sweep_range = t.int_list("sweep_range", (1, 65535), minimum=1, maximum=65535)
    if len(sweep_range) != 2 or sweep_range[0] > sweep_range[1]:
        raise t.error("sweep_range", f"{list(sweep_range)} is not [first, last]",
                      "give two ports, first <= last, e.g. sweep_range = [1, 65535]")
    config = replace(config, sweep_range=(sweep_range[0], sweep_range[1]),
                     resolvers=_hosts(t, "resolvers"), tunnel_hosts=_hosts(t, "tunnel_hosts"))
    if config.timeout_v6 < 1.5:
        raise t.error("timeout_v6", f"{config.timeout_v6} is below 1.5 s",
                      "IPv6 attempts need at least 1.5 s (neighbour discovery); raise it")
    if not config.allowed:
        raise t.error("allowed", "is required: no positive control destination",
                      "add an [[isolation.allowed]] the sandboxes must reach, so silence "
                      "cannot pass by accident")
    t.done()
    return config
