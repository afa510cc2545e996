"""The lab fleets: small fleets of network namespaces, one isolated, the others leaky.

Every fleet has two sandboxes (``a``, ``b``) and a hub namespace that plays the node:
it routes between the sandboxes (one veth each, /32 routes, like a routed CNI), holds
the "host" (an agent answering on 8080, the allowed destination, and 10250, a control
plane port) and loopback addresses answering as the metadata service
(169.254.169.254 and fd00:ec2::254) *inside the lab*, never the real host's. Nothing is
created in the root namespace; addresses are from 198.18.0.0/15 (RFC 2544) and
fd5e:a11::/32, reachable only inside these namespaces.

Fleets (isolation by nftables in the hub, ``drop`` or ``reject``):

- ``isolated``: forward between sandboxes dropped, host and metadata closed: passes;
- ``flat``: one bridge, no rules (L2 visible, spoofing works): every cell leaks;
- ``open_port``: isolated but TCP 47123 forwarded; ``udp_only``, ``icmp_only``: only
  that protocol forwarded; ``ipv6_only``: the rules cover IPv4 only;
- ``metadata``: isolated but the metadata service is reachable;
- ``broken_control``: isolated, and the allowed destination is closed too: the
  positive control fails, so its cells are inconclusive;
- ``egress``: isolated between sandboxes, but the hub's DNS responder (exfiltration),
  an ICMP echo tunnel to an "outside" address and the platform endpoint 168.63.129.16
  are open.

Every fleet also carries platform endpoints beyond private ranges: 168.63.129.16 (on
the hub's loopback) and ``metadata.google.internal``, resolved through a per-namespace
``/etc/netns/<ns>/hosts`` to the lab's metadata address; an "outside" address
(``.254``) for the ICMP tunnel; and a DNS responder in the hub's canary on port 53.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from dataclasses import dataclass

from seawall.isolation.plan import Destination, FleetPlan
from seawall.runtime.base import Sandbox, SandboxRuntime, run
from seawall.runtime.netns import ETC_NETNS
from seawall.targets import SandboxSpec

CANARY_TCP = (22, 80, 443, 47123)
CANARY_UDP = (7,)
ALLOWED_PORT = 8080
CONTROL_PLANE_PORT = 10250
OPEN_PORT = 47123
SPOOF_SOURCE = "198.18.255.250"
PLATFORM = ("168.63.129.16", "metadata.google.internal")
HOSTS = "127.0.0.1 localhost\n::1 localhost\n169.254.169.254 metadata.google.internal\n"


@dataclass(frozen=True, kw_only=True)
class FleetDesign:
    """How one lab fleet is wired and which leak it has (``leak`` is empty for none)."""

    name: str
    index: int
    leak: str = ""
    bridge: bool = False
    members: tuple[str, ...] = ("a", "b")
    drop_raw: bool = True


FLEETS: tuple[FleetDesign, ...] = (
    FleetDesign(name="isolated", index=1),
    FleetDesign(name="flat", index=2, leak="flat", bridge=True, drop_raw=False),
    FleetDesign(name="open_port", index=3, leak="open_port"),
    FleetDesign(name="udp_only", index=4, leak="udp"),
    FleetDesign(name="icmp_only", index=5, leak="icmp"),
    FleetDesign(name="ipv6_only", index=6, leak="ipv6"),
    FleetDesign(name="metadata", index=7, leak="metadata"),
    FleetDesign(name="broken_control", index=8, leak="control"),
    FleetDesign(name="egress", index=9, leak="egress"),
)


def v4(design: FleetDesign, host: int) -> str:
    """The lab IPv4 address ``host`` of a fleet (1 is the hub)."""
    return f"198.18.{design.index}.{host}"


def v6(design: FleetDesign, host: int) -> str:
    """The lab IPv6 address ``host`` of a fleet (1 is the hub)."""
    return f"fd5e:a11:{design.index}::{host}"


def fleet_plan(design: FleetDesign) -> FleetPlan:
    """The static plan of a lab fleet (no I/O)."""
    hub = f"{design.name}.hub"
    return FleetPlan(
        name=design.name,
        sandboxes=tuple(
            SandboxSpec(name=m, fleet=design.name,
                        drop_caps=("net_raw",) if design.drop_raw else ())
            for m in design.members
        ),
        canary_tcp=CANARY_TCP,
        canary_udp=CANARY_UDP,
        forbidden=(
            Destination(label="host", host=v4(design, 1), port=CONTROL_PLANE_PORT, canary=hub),
            Destination(label="host", host=v6(design, 1), port=CONTROL_PLANE_PORT, canary=hub),
            Destination(label="metadata", host="169.254.169.254", port=80),
            Destination(label="metadata", host="fd00:ec2::254", port=80),
            *(Destination(label="platform", host=h, port=80) for h in PLATFORM),
        ),
        resolvers=(Destination(label="dns", host=v4(design, 1), port=53, canary=hub),),
        tunnel_hosts=(v4(design, 254),),
        allowed=(Destination(label="host-allowed", host=v4(design, 1), port=ALLOWED_PORT,
                             canary=hub),),
        spoof_source=SPOOF_SOURCE,
        hub=SandboxSpec(name="hub", fleet=design.name),
    )


def catalogue(designs: tuple[FleetDesign, ...] = FLEETS) -> tuple[FleetPlan, ...]:
    """The lab's fleets as plans: the static catalogue the suite plans from."""
    return tuple(fleet_plan(d) for d in designs)


def _nft_rules(design: FleetDesign, mode: str) -> str:
    """The hub's ruleset: ``mode`` is ``drop`` or ``reject`` for isolated traffic."""
    between = 'iifname "s*" oifname "s*"'
    if mode == "drop":
        block = f"{between} drop"
        host_block = f'iifname "s*" tcp dport {CONTROL_PLANE_PORT} drop'
    else:
        block = (f"{between} meta l4proto tcp reject with tcp reset\n"
                 f"        {between} reject with icmpx type admin-prohibited")
        host_block = f'iifname "s*" tcp dport {CONTROL_PLANE_PORT} reject with tcp reset'

    allow = {
        "open_port": (f"tcp dport {OPEN_PORT} accept\n"
                      f"        {between} tcp sport {OPEN_PORT} accept"),
        "udp": "meta l4proto udp accept",
        "icmp": "meta l4proto { icmp, ipv6-icmp } accept",
    }.get(design.leak, "")
    family = "ip" if design.leak == "ipv6" else "inet"
    metadata = "" if design.leak == "metadata" else (
        'iifname "s*" ip daddr 169.254.169.254 drop\n'
        '        iifname "s*" ip6 daddr fd00:ec2::254 drop')
    control = (f'iifname "s*" tcp dport {ALLOWED_PORT} drop' if design.leak == "control"
               else f'iifname "s*" tcp dport {ALLOWED_PORT} accept')
    egress = "" if design.leak == "egress" else (
        f'iifname "s*" ip daddr {PLATFORM[0]} drop\n'
        '        iifname "s*" udp dport 53 drop\n'
        f'        iifname "s*" ip daddr {v4(design, 254)} icmp type echo-request drop')
    return f"""
table {family} seawall_fwd {{
    chain forward {{
        type filter hook forward priority 0; policy accept;
        {between + " " + allow if allow else ""}
        {block}
    }}
}}
table inet seawall_host {{
    chain input {{
        type filter hook input priority 0; policy accept;
        {control}
        {metadata}
        {egress}
        {host_block}
    }}
}}
"""


def _sysctls(ns: str, *, hub: bool, ping: bool) -> None:
    lines = ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]
    if hub:
        lines += ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]
    if ping:
        lines.append("net.ipv4.ping_group_range=0 2147483647")
    run(["ip", "netns", "exec", ns, "sysctl", "-q", "-p-"], target=ns,
        stdin="\n".join(lines) + "\n")


def _batch(ns: str, commands: list[str]) -> None:
    run(["ip", "-n", ns, "-batch", "-"], target=ns, stdin="\n".join(commands) + "\n")


def build(design: FleetDesign, runtime: SandboxRuntime, stack: contextlib.ExitStack,
          *, mode: str = "drop") -> tuple[Sandbox, list[Sandbox]]:
    """Create the hub and the sandboxes of ``design`` and wire them.

    ``runtime`` must name its sandboxes by their network namespace (the built-in
    ``netns`` runtime, or ``command`` templates around ``ip netns``): the wiring is
    done with ``ip -n <handle>`` from the host.
    Every namespace's removal is pushed on ``stack`` as soon as it exists, so a failure
    half way leaves nothing behind. Returns (hub, sandboxes with addresses)."""
    plan = fleet_plan(design)
    assert plan.hub is not None
    hub = runtime.create(plan.hub)
    stack.callback(runtime.destroy, hub)
    _sysctls(hub.handle, hub=True, ping=False)
    # The metadata and host addresses live on the hub's loopback (no dummy module here).
    hub_cmds = ["addr add 169.254.169.254/32 dev lo", "addr add fd00:ec2::254/128 dev lo",
                f"addr add {PLATFORM[0]}/32 dev lo", f"addr add {v4(design, 254)}/32 dev lo",
                f"addr add {v4(design, 1)}/32 dev lo", f"addr add {v6(design, 1)}/128 dev lo"]
    if design.bridge:
        hub_cmds += ["link add br0 type bridge", "link set br0 up",
                     f"addr add {v4(design, 1)}/24 dev br0",
                     f"addr add {v6(design, 1)}/64 dev br0 nodad"]
    _batch(hub.handle, hub_cmds)
    members = []
    for i, spec in enumerate(plan.sandboxes):
        sandbox = runtime.create(spec)
        stack.callback(runtime.destroy, sandbox)
        etc = ETC_NETNS / sandbox.handle
        etc.mkdir(parents=True, exist_ok=True)
        stack.callback(shutil.rmtree, etc, True)
        (etc / "hosts").write_text(HOSTS)
        _sysctls(sandbox.handle, hub=False, ping=design.drop_raw)
        host = 10 + i
        run(["ip", "-n", hub.handle, "link", "add", f"s{i}", "type", "veth", "peer", "name",
             "eth0", "netns", sandbox.handle], target=sandbox.handle)
        if design.bridge:
            _batch(hub.handle, [f"link set s{i} master br0", f"link set s{i} up"])
            _batch(sandbox.handle, [
                "link set eth0 up", f"addr add {v4(design, host)}/24 dev eth0",
                f"addr add {v6(design, host)}/64 dev eth0 nodad",
                f"route add default via {v4(design, 1)}",
                f"route add ::/0 via {v6(design, 1)}"])
        else:
            _batch(hub.handle, [
                f"link set s{i} up", f"addr add {v4(design, 1)}/32 dev s{i}",
                f"addr add fe80::1/64 dev s{i} nodad",
                f"route add {v4(design, host)}/32 dev s{i}",
                f"route add {v6(design, host)}/128 dev s{i}"])
            _batch(sandbox.handle, [
                "link set eth0 up", f"addr add {v4(design, host)}/32 dev eth0",
                f"addr add {v6(design, host)}/128 dev eth0 nodad",
                f"route add {v4(design, 1)}/32 dev eth0",
                f"route add default via {v4(design, 1)} dev eth0",
                "route add ::/0 via fe80::1 dev eth0"])
        members.append(runtime.addresses(sandbox))
    run(["ip", "netns", "exec", hub.handle, "nft", "-f", "-"], target=hub.handle,
        stdin=_nft_rules(design, mode) if not design.bridge else "")
    return hub, members


def metadata_server(hub: Sandbox, runtime: SandboxRuntime) -> list[str]:
    """The argv of a plain HTTP server on [::]:80 in the hub: the lab's metadata
    service (it is not a canary: reaching it is a leak of the 'something else' kind)."""
    root = tempfile.mkdtemp(prefix="seawall-md-")
    return runtime.command(hub, [sys.executable, "-m", "http.server", "--bind", "::",
                                 "--directory", root, "80"])
