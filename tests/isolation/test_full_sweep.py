"""The optional full sweep: off by default, reachable from the config, and bounded here
to a 201-port range around the lab's one open port (the full range is in bench/)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket

import pytest

from seawall.config import Config
from seawall.config.isolation import IsolationConfig
from seawall.isolation import rules, suite, sweep
from seawall.isolation.plan import cells_for
from seawall.isolation.policy import IsolationPolicy
from seawall.lab import fleet as lab
from seawall.model import Outcome
from seawall.targets import Cell

CELL = Cell(source="f.a", destination="f.b", protocol="tcp")
SPEC = {"host": "198.18.1.11", "first": 1, "last": 3, "timeout": 1.0}


def test_full_sweep_is_off_by_default_and_rate_capped() -> None:
    cfg = IsolationConfig(sandboxes=("a", "b"))
    plan = suite.fleets_from_config(cfg)[0]
    assert plan.full_sweep is False and plan.rate > 0
    on = suite.fleets_from_config(dataclasses.replace(cfg, full_sweep=True,
                                                      sweep_range=(1000, 2000)))[0]
    assert on.full_sweep and on.sweep_range == (1000, 2000)


def test_sweep_facts_open_port_without_canary_is_a_leak() -> None:
    got = sweep.facts(CELL, SPEC, {"counts": {"timeout": 2, "connected": 1}, "open": [2],
                                   "answers": {"2": {"answer_valid": False, "banner": "SSH"}}})
    assert [(a.port, a.result) for a in got] == [(2, "reached_other"), (None, "timeout")]


def test_sweep_facts_local_refusal_and_missing_result_are_not_blocked() -> None:
    eperm = sweep.facts(CELL, SPEC, {"counts": {"timeout": 2, "EPERM": 1}, "open": []})
    assert eperm[-1].result == "local_policy"
    assert sweep.facts(CELL, SPEC, None)[0].result == "probe_crashed"


@pytest.mark.privileged
def test_lab_sweep_finds_the_open_port_and_passes_the_isolated_fleet() -> None:
    plans = [dataclasses.replace(p, full_sweep=True, sweep_range=(47023, 47223))
             for p in lab.catalogue() if p.name in ("open_port", "isolated")]
    cells = [Cell(source=f"{p.name}.a", destination=f"{p.name}.b", protocol="tcp")
             for p in plans]
    with contextlib.ExitStack() as stack:
        facts = suite.run_fleets(plans, cells, Config(), stack)
    leaky = facts["open_port.a->open_port.b/tcp"]
    swept = [a for a in leaky.attempts if a.kind == "sweep"]
    assert len(swept) == 1 and "timeout=200" in str(swept[0].detail["errno"])
    assert sum(1 for a in leaky.attempts if a.port == lab.OPEN_PORT
               and a.result == "reached_canary") == 2  # canary attempt + found by the sweep
    assert rules.verdict(leaky, IsolationPolicy(), 0).outcome is Outcome.FAIL
    isolated = facts["isolated.a->isolated.b/tcp"]
    assert [a.detail["errno"] for a in isolated.attempts if a.kind == "sweep"] == ["timeout=201"]
    assert rules.verdict(isolated, IsolationPolicy(), 0).outcome is Outcome.PASS


def test_forked_sweep_covers_the_range_once() -> None:
    from seawall.agent import probe

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        first, last = max(1, port - 20), min(65535, port + 20)
        got = probe.sweep({"host": "127.0.0.1", "first": first, "last": last, "timeout": 1.0,
                           "workers": 2}, b"\0" * 32, max_in_flight=16, rate=0)
    assert port in got["open"]
    assert sum(got["counts"].values()) == last - first + 1
    assert got["workers"] == min(2, os.cpu_count() or 1)


def test_resolvers_and_tunnel_hosts_reach_the_plan() -> None:
    cfg = IsolationConfig(sandboxes=("a", "b"), resolvers=("10.0.0.2",),
                          tunnel_hosts=("203.0.113.9",))
    plan = suite.fleets_from_config(cfg)[0]
    assert [(d.host, d.port) for d in plan.resolvers] == [("10.0.0.2", 53)]
    cells = {c.id for c in cells_for(plan)}
    assert {"fleet.a->dns/dns", "fleet.a->tunnel/icmp_tunnel"} <= cells
