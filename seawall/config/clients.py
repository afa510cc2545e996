"""``[clients]``: placeholder until the client-verification check lands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seawall.config.reader import Table


@dataclass(frozen=True, kw_only=True)
class ClientsConfig:
    """Client commands whose certificate verification is checked."""


def parse(t: Table, base: Path) -> ClientsConfig:
    """Read the ``[clients]`` table."""
    t.done()
    return ClientsConfig()
