"""Fixtures of the https suite's tests: one running lab (HTTP cases plus the TLS cases
used for certificate, hang and reset tests) per module, and a gather helper that probes
lab services through the lab's connect-to overrides."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

import pytest

from seawall.config.https import DEFAULT_POLICY, HttpsPolicy
from seawall.https import engine
from seawall.https.facts import ServiceFacts
from seawall.lab import HTTP_CASES, TLS_CASES, Lab
from seawall.targets import Overrides, WebService

EXTRA = ("good13", "expired", "wrong_host", "self_signed", "untrusted_root", "hanging",
         "reset")

Gather = Callable[..., ServiceFacts]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab.start([*HTTP_CASES, *EXTRA]) as running:
        yield running


def lab_service(case: str, **fields: object) -> WebService:
    """The lab case ``case`` as a service (HTTP and TLS cases alike)."""
    host = (HTTP_CASES.get(case) or TLS_CASES[case]).host
    return replace(WebService(host=host, name=case), **fields)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def make_service() -> Callable[..., WebService]:
    """make_service(case, **fields): a lab case as a WebService."""
    return lab_service


@pytest.fixture(scope="module")
def probe(lab: Lab) -> Gather:
    """probe(case_or_service, policy=..., overrides=..., timeout=..., trust=True):
    gather one service's facts from the running lab."""

    def run(target: str | WebService, *, policy: HttpsPolicy = DEFAULT_POLICY,
            overrides: Mapping[tuple[str, int], tuple[str, int]] | None = None,
            timeout: float = 5.0, trust: bool = True) -> ServiceFacts:
        svc = lab_service(target) if isinstance(target, str) else target
        if trust:
            svc = replace(svc, ca_file=lab.ca_file)
        mapping: Overrides = dict(lab.overrides if overrides is None else overrides)
        facts = engine.gather_sync([svc], {svc.id: policy}, overrides=mapping,
                                   only_overrides=True, timeout=timeout)
        return facts[svc.id]

    return run


@pytest.fixture(scope="module")
def address(lab: Lab) -> Callable[..., tuple[str, int]]:
    """address(case, port=443): the real address of a lab case's nominal port."""

    def find(case: str, port: int = 443) -> tuple[str, int]:
        host = (HTTP_CASES.get(case) or TLS_CASES[case]).host
        return lab.overrides[host, port]

    return find
