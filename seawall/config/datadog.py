"""``[datadog]``: placeholder until the datadog suite lands (owned by that suite's work)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seawall.config.reader import Table


@dataclass(frozen=True, kw_only=True)
class DatadogConfig:
    """Settings of the datadog suite."""


def parse(t: Table, base: Path) -> DatadogConfig:
    """Read the ``[datadog]`` table."""
    t.done()
    return DatadogConfig()
