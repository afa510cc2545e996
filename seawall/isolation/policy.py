"""What the isolation rules judge against: one policy per cell."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class IsolationPolicy:
    """``allow_raw_sockets``: whether a sandbox may hold CAP_NET_RAW (the ``raw`` cells
    fail when it does and this is false). ``name`` labels the policy in summaries."""

    name: str = "default"
    allow_raw_sockets: bool = False
