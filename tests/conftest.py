"""Shared fixtures of Seawall's own tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def api_key() -> str:
    """A fresh fake Datadog API key (32 hex digits, the shape of a real one)."""
    return secrets.token_hex(16)


@pytest.fixture
def datadog_client_reset() -> Iterator[None]:
    """The datadog client keeps a timeout counter and backoff in class state: reset it
    around a test so one test's faults do not silence the next one's requests."""
    from datadog.api.api_client import APIClient

    APIClient._timeout_counter = 0
    APIClient._backoff_timestamp = None
    yield
    APIClient._timeout_counter = 0
    APIClient._backoff_timestamp = None


@pytest.fixture
def intake(tmp_path: Path, api_key: str, datadog_client_reset: None) -> Iterator[Any]:
    """The local Datadog intake (seawall.lab.intake); after the test it must have seen
    the key only in its header."""
    from seawall.lab.intake import DatadogIntake

    with DatadogIntake(tmp_path / "intake", api_key=api_key) as running:
        yield running
    assert running.key_leaks == []
