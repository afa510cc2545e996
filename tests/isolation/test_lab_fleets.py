"""The lab fleets, probed for real: each leak is caught in the right cells, the isolated
fleet passes, the broken-control fleet is inconclusive, and nothing is left behind."""

from __future__ import annotations

import contextlib
import subprocess

import pytest

from seawall.config import Config
from seawall.isolation import rules, suite
from seawall.isolation.facts import CellFacts
from seawall.model import Finding, Outcome
from seawall.runtime import netns

pytestmark = pytest.mark.privileged

#: fleet -> protocols (or destinations) whose cells must FAIL; every other cell passes.
LEAKS = {
    "isolated": set(),
    # flat: no rules at all, but no unprivileged ICMP socket (ping_group_range "1 0"):
    # its icmp_tunnel cell is the isolated case of that probe.
    "flat": {"tcp", "udp", "icmp", "tcp6", "udp6", "icmp6", "l2", "ndp", "spoof", "raw",
             "host", "metadata", "platform", "dns"},
    "open_port": {"tcp", "tcp6"},
    "udp_only": {"udp", "udp6"},
    "icmp_only": {"icmp", "icmp6"},
    "ipv6_only": {"tcp6", "udp6", "icmp6"},
    # metadata.google.internal resolves to the (reachable) metadata address
    "metadata": {"metadata", "platform"},
    "egress": {"dns", "icmp_tunnel", "platform"},
}


@pytest.fixture(scope="module")
def findings() -> dict[str, Finding]:
    config = Config()
    plan = suite.CELLS.plan(config)
    with contextlib.ExitStack() as stack:
        facts: dict[str, CellFacts] = suite.CELLS.gather(plan, plan.targets, config, stack)
    return {cid: rules.verdict(f, plan.policies[cid], 0.0) for cid, f in facts.items()}


def _key(cell_id: str) -> str:
    dest, proto = cell_id.split("->")[1].split("/")
    return dest if dest in ("host", "metadata", "platform") else proto


@pytest.mark.parametrize("fleet", sorted(LEAKS))
def test_leaks_are_caught_in_the_right_cells(fleet: str, findings: dict[str, Finding]) -> None:
    mine = {cid: f for cid, f in findings.items() if cid.startswith(f"{fleet}.")}
    assert len(mine) == 30
    failing = {_key(cid) for cid, f in mine.items() if f.outcome is Outcome.FAIL}
    assert failing == LEAKS[fleet]
    for cid, f in mine.items():
        expected = Outcome.FAIL if _key(cid) in LEAKS[fleet] else Outcome.PASS
        assert f.outcome is expected, (cid, f.summary)
        if expected is Outcome.FAIL:
            assert f.evidence["leaks"], cid


def test_leak_evidence_names_the_canary(findings: dict[str, Finding]) -> None:
    tcp = findings["open_port.a->open_port.b/tcp"]
    assert tcp.reason == "reached_canary"
    assert [leak["port"] for leak in tcp.evidence["leaks"]] == [47123]
    assert tcp.evidence["leaks"][0]["answer_name"] == "open_port.b"
    assert findings["flat.a->flat.b/l2"].reason == "l2_visible"
    assert findings["flat.a->flat.b/spoof"].reason == "spoof_delivered"
    assert findings["metadata.a->metadata/tcp"].reason == "reached_other"
    udp = findings["udp_only.b->udp_only.a/udp"]
    assert udp.reason == "reached_canary" and "198.18.4.10" in udp.summary


def test_egress_paths_name_what_leaked(findings: dict[str, Finding]) -> None:
    dns = findings["egress.a->dns/dns"]
    assert dns.reason == "reached_canary" and dns.check == "isolation.dns"
    assert dns.evidence["leaks"][0]["port"] == 53
    tunnel = findings["egress.b->tunnel/icmp_tunnel"]
    assert tunnel.reason == "icmp_tunnel_open" and tunnel.check == "isolation.icmp_tunnel"
    assert tunnel.evidence["leaks"][0]["from"] == "198.18.9.254"
    platform = findings["egress.a->platform/tcp"]
    assert [leak["host"] for leak in platform.evidence["leaks"]] == ["168.63.129.16"]
    by_name = findings["metadata.a->platform/tcp"]  # metadata.google.internal, resolved inside
    assert [leak["host"] for leak in by_name.evidence["leaks"]] == ["metadata.google.internal"]
    ndp = findings["flat.b->flat.a/ndp"]
    assert ndp.reason == "l2_visible" and ndp.check == "isolation.l2"


def test_isolated_egress_paths_pass_for_the_right_reason(findings: dict[str, Finding]) -> None:
    for cell in ("dns/dns", "tunnel/icmp_tunnel", "platform/tcp"):
        finding = findings[f"isolated.a->{cell}"]
        assert finding.outcome is Outcome.PASS and finding.evidence["results"] == {
            "timeout": len(finding.evidence["attempts"])}, finding.summary
    assert findings["isolated.a->isolated.b/ndp"].evidence["results"] == {"no_raw_socket": 1}
    # flat has no rules, but no unprivileged ICMP socket (ping_group_range "1 0")
    assert findings["flat.a->tunnel/icmp_tunnel"].evidence["results"] == {"no_icmp_socket": 1}


def test_broken_control_is_inconclusive(findings: dict[str, Finding]) -> None:
    mine = [f for cid, f in findings.items() if cid.startswith("broken_control.")]
    assert mine and all(f.outcome is Outcome.ERROR for f in mine)
    assert {f.reason for f in mine} == {"control_failed"}


def test_nothing_left_behind(findings: dict[str, Finding]) -> None:
    assert findings
    assert not [n for n in netns.list_namespaces() if netns.PREFIX_RE.match(n)
                and not netns._alive(n[:9])]


def test_stale_namespaces_of_dead_runs_are_swept() -> None:
    name = "sw0dead0-stale.a"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        assert name in netns.sweep_stale()
        assert name not in netns.list_namespaces()
    finally:
        netns.delete_namespace(name)


def test_live_runs_are_not_swept() -> None:
    lock = netns.RunLock("sw0a11e0-")
    name = "sw0a11e0-live.a"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        assert name not in netns.sweep_stale()
        assert name in netns.list_namespaces()
    finally:
        netns.delete_namespace(name)
        lock.release()
