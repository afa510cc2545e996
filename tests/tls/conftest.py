"""Fixtures of the tls suite's tests: one real lab (every TLS case) per session, and the
facts our engine gathers from it, so each rule is tested against real servers."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

import pytest

from seawall.lab import TLS_CASES, Lab
from seawall.targets import Endpoint
from seawall.tls import engine
from seawall.tls.facts import TlsFacts
from seawall.tls.suite import lab_targets


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    with Lab.start(list(TLS_CASES)) as running:
        yield running


def lab_endpoint(lab: Lab, name: str) -> Endpoint:
    """The endpoint of lab case ``name``, trusting the lab root."""
    target = next(t for t in lab_targets() if t.name == name)
    return Endpoint(host=target.host, port=443, policy=target.policy, ca_file=lab.ca_file,
                    name=name)


@pytest.fixture(scope="session")
def lab_stats() -> engine.EngineStats:
    return engine.EngineStats()


@pytest.fixture(scope="session")
def lab_facts(lab: Lab, lab_stats: engine.EngineStats) -> Mapping[str, TlsFacts]:
    """Facts of every lab case by case name, gathered once, as the suite would."""
    endpoints = [lab_endpoint(lab, name) for name in TLS_CASES]
    by_id = engine.gather(endpoints, timeout=1.0, concurrency=50, overrides=lab.overrides,
                          pool_file=lab.pki.intermediate_file, system_trust=False,
                          stats=lab_stats)
    return {e.name: by_id[e.id] for e in endpoints}


@pytest.fixture(scope="session")
def now(lab_facts: Mapping[str, TlsFacts]) -> float:
    """The time rules judge against: when the facts were gathered."""
    return time.time()
