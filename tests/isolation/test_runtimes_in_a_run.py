"""Isolation through the ``command`` runtime in a full run (templates around ``ip
netns``), and a missing namespace in attach mode: inconclusive with a clear message."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest

from seawall.config import Config
from seawall.config.isolation import AddressConfig, IsolationConfig
from seawall.errors import LocalProbeError
from seawall.isolation import rules, suite
from seawall.isolation.plan import cells_for
from seawall.isolation.policy import IsolationPolicy
from seawall.lab import fleet as lab
from seawall.model import Outcome
from seawall.runtime import netns
from seawall.targets import SandboxSpec

pytestmark = pytest.mark.privileged

TEMPLATES = {
    "create": 'sh -c "ip netns add {name} && ip -n {name} link set lo up"',
    # like a default workload: the probe runs without CAP_NET_RAW
    "exec": "ip netns exec {name} setpriv --inh-caps=-net_raw --bounding-set=-net_raw "
            "{command}",
    "address": "ip -n {name} -o addr show",
    "destroy": "ip netns delete {name}",
}


def test_lab_fleets_through_the_command_runtime() -> None:
    plans = [p for p in lab.catalogue() if p.name in ("isolated", "open_port")]
    cells = [c for p in plans for c in cells_for(p)]
    before = set(netns.list_namespaces())
    with contextlib.ExitStack() as stack:
        facts = suite.run_fleets(plans, cells, Config(), stack, lab_templates=TEMPLATES)
        handles = set(netns.list_namespaces()) - before
        assert len(handles) == 6  # two sandboxes and a hub per fleet, made by the template
    assert not handles & set(netns.list_namespaces())  # the destroy template removed them
    failing = set()
    for cid, f in facts.items():
        finding = rules.verdict(f, IsolationPolicy(), 0)
        if finding.outcome is not Outcome.PASS:
            assert finding.outcome is Outcome.FAIL, finding.summary
            failing.add(cid)
    assert failing == {"open_port.a->open_port.b/tcp", "open_port.b->open_port.a/tcp",
                       "open_port.a->open_port.b/tcp6", "open_port.b->open_port.a/tcp6"}


def test_attaching_to_a_missing_namespace_is_a_clear_probe_error() -> None:
    runtime = netns.NetnsRuntime("")
    with pytest.raises(LocalProbeError) as caught:
        runtime.create(SandboxSpec(name="sw-absent-ns", fleet="fleet", namespace="sw-absent-ns"))
    assert caught.value.reason == "no_sandbox"
    assert "network namespace 'sw-absent-ns' to attach to does not exist" in str(caught.value)


def test_a_missing_namespace_makes_its_cells_inconclusive() -> None:
    cfg = IsolationConfig(sandboxes=("sw-absent-a", "sw-absent-b"), allowed=(
        AddressConfig(label="x", host="198.18.99.1", port=80),))
    config = dataclasses.replace(Config(), lab=False, source="seawall.toml", isolation=cfg)
    plan = suite.fleets_from_config(cfg)[0]
    with contextlib.ExitStack() as stack:
        facts = suite.run_fleets([plan], list(cells_for(plan)), config, stack)
    assert facts and len(facts) == len(cells_for(plan))
    for f in facts.values():
        finding = rules.verdict(f, IsolationPolicy(), 0)
        assert finding.outcome is Outcome.ERROR and finding.reason == "no_sandbox"
        assert "'sw-absent-a' to attach to does not exist" in finding.summary
