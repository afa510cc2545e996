"""``[isolation]``: placeholder until the isolation suite lands (owned by that suite's work)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seawall.config.reader import Table


@dataclass(frozen=True, kw_only=True)
class IsolationConfig:
    """Settings of the isolation suite."""


def parse(t: Table, base: Path) -> IsolationConfig:
    """Read the ``[isolation]`` table."""
    t.done()
    return IsolationConfig()
