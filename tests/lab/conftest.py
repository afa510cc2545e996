"""Fixtures of the lab's own tests: one running lab with every case, per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seawall.lab import Lab


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    with Lab.start() as running:
        yield running
