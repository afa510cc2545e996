"""``[https]``: placeholder until the https suite lands (owned by that suite's work)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seawall.config.reader import Table


@dataclass(frozen=True, kw_only=True)
class HttpsConfig:
    """Settings of the https suite."""


def parse(t: Table, base: Path) -> HttpsConfig:
    """Read the ``[https]`` table."""
    t.done()
    return HttpsConfig()
