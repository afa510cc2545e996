"""``[seawall]``: who is probing and the defaults every suite shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seawall.config.reader import Table


@dataclass(frozen=True, kw_only=True)
class GeneralConfig:
    """``env``/``location``/``team`` become tags; ``timeout`` is the per-target deadline
    in seconds, ``concurrency`` the bound on in-flight attempts; ``state_dir`` holds the
    evidence files, the spool and the last-status state."""

    env: str = "none"
    location: str = "local"
    team: str = ""
    timeout: float = 5.0
    concurrency: int = 100
    state_dir: Path = Path(".seawall")
    evidence_retention_days: int = 400


def parse(t: Table, base: Path) -> GeneralConfig:
    """Read the ``[seawall]`` table."""
    default = GeneralConfig()
    state = t.text("state_dir", None)
    config = GeneralConfig(
        env=t.text("env", default.env),
        location=t.text("location", default.location),
        team=t.text("team", default.team),
        timeout=t.number("timeout", default.timeout, minimum=0.05, maximum=600),
        concurrency=t.integer("concurrency", default.concurrency, minimum=1, maximum=100000),
        state_dir=(base / state) if state else default.state_dir,
        evidence_retention_days=t.integer(
            "evidence_retention_days", default.evidence_retention_days, minimum=1
        ),
    )
    t.done()
    return config
