"""Monitors as code against the Datadog API: load, compare, create or update by tag.

A monitor file ``monitors/<id>.json`` is one Monitors API body tagged
``seawall_monitor:<id>``. ``push`` looks each one up by that tag: none -> create,
one -> update when a managed field differs, several -> an error (someone copied it by
hand; we do not guess which one is ours). Running push twice changes nothing the
second time. The API calls need an application key (``DD_APP_KEY``), which belongs on
an operator's machine or a deploy job, never in the probe cron container.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seawall.errors import ConfigError, DeliveryError
from seawall.monitors.rules import ID_TAG

MANAGED = ("name", "type", "query", "message", "tags", "options", "priority")


@dataclass(frozen=True)
class MonitorFile:
    """One monitor body and where it came from."""

    path: Path
    stem: str
    body: Any


def load_dir(directory: Path) -> list[MonitorFile]:
    """Every ``*.json`` in ``directory``, parsed; bad JSON is a ConfigError."""
    if not directory.is_dir():
        raise ConfigError(str(directory), "", "is not a directory of monitor files",
                          "give --dir or set [datadog] monitors_dir")
    files = []
    for path in sorted(directory.glob("*.json")):
        try:
            body = json.loads(path.read_text())
        except ValueError as exc:
            raise ConfigError(str(path), "", f"not valid JSON: {exc}", "fix the syntax") from None
        files.append(MonitorFile(path, path.stem, body))
    return files


def managed(body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields push owns, normalised for comparison (tags sorted)."""
    out = {k: body[k] for k in MANAGED if k in body}
    if "tags" in out:
        out["tags"] = sorted(out["tags"])
    return out


def changed_fields(local: Mapping[str, Any], remote: Mapping[str, Any]) -> list[str]:
    """Managed fields that differ; remote options may carry API defaults we ignore."""
    diff = []
    mine, theirs = managed(local), managed(remote)
    for key, value in mine.items():
        other = theirs.get(key)
        if key == "options" and isinstance(other, dict):
            other = {k: v for k, v in other.items() if k in value}
        if value != other:
            diff.append(key)
    return diff


class MonitorsApi:
    """The few Monitors API calls push and diff need, over the real ``datadog`` client."""

    def __init__(self, *, api_key: str, app_key: str, api_host: str,
                 ca_file: Path | None = None, timeout: float = 10.0) -> None:
        import datadog

        datadog.initialize(api_key=api_key, app_key=app_key, api_host=api_host,
                           host_name="seawall-monitors", mute=False, timeout=timeout,
                           cacert=str(ca_file) if ca_file else True)
        self.api_host = api_host

    def __repr__(self) -> str:
        return f"MonitorsApi({self.api_host!r})"

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from datadog.api.exceptions import DatadogException

        try:
            return fn(*args, **kwargs)
        except DatadogException as exc:
            raise DeliveryError("datadog monitors", f"{what}: {exc}", retryable=True) from None

    def find(self, stem: str) -> list[dict[str, Any]]:
        """Monitors carrying ``seawall_monitor:<stem>``."""
        from datadog.api.monitors import Monitor

        found = self._call("list monitors", Monitor.get_all, monitor_tags=f"{ID_TAG}:{stem}")
        return [m for m in found or [] if f"{ID_TAG}:{stem}" in m.get("tags", [])]

    def validate(self, body: Mapping[str, Any]) -> list[str]:
        """The API's own verdict on a body: its error messages (empty: valid)."""
        from datadog.api.api_client import APIClient
        from datadog.api.exceptions import ApiError

        try:
            APIClient.submit("POST", "monitor/validate", body=dict(body))
        except ApiError as exc:
            return [str(e) for e in (exc.args[0] or {}).get("errors", [exc])]
        except Exception as exc:
            raise DeliveryError("datadog monitors", f"validate: {exc}", retryable=True) from None
        return []

    def create(self, body: Mapping[str, Any]) -> int:
        """Create a monitor; its id."""
        from datadog.api.monitors import Monitor

        made = self._call("create monitor", Monitor.create, **dict(body))
        return int(made["id"])

    def update(self, monitor_id: int, body: Mapping[str, Any]) -> None:
        """Replace a monitor's managed fields."""
        from datadog.api.monitors import Monitor

        self._call("update monitor", Monitor.update, monitor_id, **dict(body))
