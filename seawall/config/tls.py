"""``[tls]``: placeholder until the tls suite lands (owned by that suite's work)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seawall.config.reader import Table


@dataclass(frozen=True, kw_only=True)
class TlsConfig:
    """Settings of the tls suite."""


def parse(t: Table, base: Path) -> TlsConfig:
    """Read the ``[tls]`` table."""
    t.done()
    return TlsConfig()
