"""The scheduler's state file: ``<state_dir>/schedule/state.json``.

It holds, per schedule, the last due time handled (so a restart catches up at most
once, never a backlog) and the last finished run; and the scheduler's heartbeat,
``tick_at``: the real time of its last successful loop tick, which the container's
``HEALTHCHECK`` (``seawall schedule health``) reads. Written atomically.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from seawall.report.evidence import write_atomic

#: A heartbeat older than this many seconds makes ``seawall schedule health`` fail.
HEALTH_MAX_AGE = 120.0


def state_path(state_dir: Path) -> Path:
    """Where the state file lives."""
    return state_dir / "schedule" / "state.json"


def load(state_dir: Path) -> dict[str, Any]:
    """The state, or an empty one when there is none (first start) or it is unreadable."""
    try:
        data = json.loads(state_path(state_dir).read_text())
    except (OSError, ValueError):
        return {"schedules": {}}
    if not isinstance(data, dict) or not isinstance(data.get("schedules"), dict):
        return {"schedules": {}}
    return data


def save(state_dir: Path, state: dict[str, Any]) -> None:
    """Write the state atomically, stamping the heartbeat (``tick_at``, ``pid``)."""
    state["tick_at"] = time.time()
    state["pid"] = os.getpid()
    write_atomic(state_path(state_dir), json.dumps(state, indent=1, sort_keys=True).encode())


def health(state_dir: Path, *, max_age: float = HEALTH_MAX_AGE,
           now: float | None = None) -> tuple[bool, str]:
    """Whether the scheduler ticked within ``max_age`` seconds, and one line saying so."""
    state = load(state_dir)
    tick = state.get("tick_at")
    if not isinstance(tick, int | float):
        return False, f"unhealthy: no scheduler heartbeat in {state_path(state_dir)}"
    if state.get("stopped"):
        return False, "unhealthy: the scheduler has stopped"
    age = (time.time() if now is None else now) - tick
    if age > max_age:
        return False, f"unhealthy: last scheduler tick {age:.0f}s ago (limit {max_age:.0f}s)"
    return True, f"healthy: last scheduler tick {age:.0f}s ago"
