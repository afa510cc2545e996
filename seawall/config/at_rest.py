"""``[at_rest]``: placeholder until the at_rest suite lands (owned by that suite's work)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seawall.config.reader import Table


@dataclass(frozen=True, kw_only=True)
class AtRestConfig:
    """Settings of the at_rest suite."""


def parse(t: Table, base: Path) -> AtRestConfig:
    """Read the ``[at_rest]`` table."""
    t.done()
    return AtRestConfig()
