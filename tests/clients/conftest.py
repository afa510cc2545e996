"""Fixtures of the client-verification tests: the lab's good and bad TLS endpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest
import trio

from seawall.config.clients import ClientCommand
from seawall.lab import TLS_CASES, Lab
from seawall.tls import clients


@pytest.fixture(scope="module")
def tls_lab() -> Iterator[Lab]:
    with Lab.start([clients.GOOD_CASE, *clients.BAD_CASES]) as running:
        yield running


@pytest.fixture(scope="module")
def run_clients(tls_lab: Lab) -> Callable[..., dict[str, clients.ClientFacts]]:
    """run_clients(commands): facts of each client against the running lab."""
    endpoints = {
        case: clients.endpoint_values(TLS_CASES[case].host,
                                      tls_lab.overrides[TLS_CASES[case].host, 443],
                                      tls_lab.ca_file)
        for case in (clients.GOOD_CASE, *clients.BAD_CASES)
    }

    def run(commands: Sequence[ClientCommand]) -> dict[str, clients.ClientFacts]:
        results: dict[str, clients.ClientFacts] = trio.run(clients.gather, list(commands),
                                                           endpoints)
        return results

    return run
