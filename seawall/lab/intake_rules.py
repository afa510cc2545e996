"""What the local intake accepts: Datadog's payload rules, written out independently of
the reporter (a bug in our tag normaliser must not be excused by the same code here).

Sources: Datadog API reference v1 "Submit metrics" (metric names: start with a letter,
letters/digits/``_``/``.``, <= 200 chars; points within the last hour and <= 10 min
ahead; payload <= 3.2 MB), "Submit a Service Check" (status 0..3, ``host_name``
required, timestamps <= 10 min old), "Post an event" (title <= 100 chars, text <= 4000,
``date_happened`` <= 18 h old, ``aggregation_key`` <= 100), "Getting Started with Tags"
(lowercase letters, digits, ``_ - : . /``, start with a letter, <= 200 chars), and the
Monitors API (``name``, ``type``, ``query``, ``options``).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

METRIC = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.]{0,199}$")
TAG = re.compile(r"^[a-z][a-z0-9_\-:./]{0,199}$")
WINDOW_AHEAD = 600.0
WINDOWS = {"series": 3600.0, "check_run": 600.0, "events": 18 * 3600.0}
SERIES_KEYS = {"metric", "points", "type", "host", "tags", "interval", "device"}
CHECK_KEYS = {"check", "host_name", "status", "timestamp", "message", "tags"}
EVENT_KEYS = {"title", "text", "date_happened", "alert_type", "aggregation_key", "host",
              "tags", "priority", "source_type_name", "related_event_id", "device_name"}
MONITOR_TYPES = {"service check", "metric alert", "query alert", "event-v2 alert",
                 "composite"}
_ids = itertools.count(1000)


def _no_nan(text: str) -> float:
    raise ValueError(f"{text} is not valid JSON")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _tags(where: str, tags: Any) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list):
        return [f"{where}.tags: not a list"]
    return [f"{where}.tags: {t!r} is not a normalised tag" for t in tags
            if not isinstance(t, str) or not TAG.match(t) or t.endswith("_")]


def _time(where: str, value: Any, now: float, window: float) -> list[str]:
    if not _number(value):
        return [f"{where}: timestamp {value!r} is not a number"]
    if value < now - window:
        return [f"{where}: timestamp {value} is older than {int(window)} s"]
    if value > now + WINDOW_AHEAD:
        return [f"{where}: timestamp {value} is in the future"]
    return []


def _keys(where: str, item: Any, allowed: set[str]) -> list[str]:
    if not isinstance(item, dict):
        return [f"{where}: not an object"]
    return [f"{where}: unknown field {k!r}" for k in item if k not in allowed]


def series_errors(doc: Any, now: float) -> list[str]:
    """Why a ``/api/v1/series`` body is invalid (empty list: valid)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("series"), list) or not doc["series"]:
        return ["body must be {\"series\": [...]} with at least one series"]
    errors: list[str] = []
    for i, s in enumerate(doc["series"]):
        where = f"series[{i}]"
        errors += _keys(where, s, SERIES_KEYS)
        if errors:
            continue
        if not isinstance(s.get("metric"), str) or not METRIC.match(s["metric"]):
            errors.append(f"{where}: metric name {s.get('metric')!r} is invalid")
        if s.get("type", "gauge") not in ("gauge", "count", "rate"):
            errors.append(f"{where}: type {s.get('type')!r} is invalid")
        if not isinstance(s.get("host"), str) or not s["host"]:
            errors.append(f"{where}: host is required")
        points = s.get("points")
        if not isinstance(points, list) or not points:
            errors.append(f"{where}: points must be a non-empty list")
            continue
        for j, p in enumerate(points):
            if not isinstance(p, list) or len(p) != 2 or not _number(p[1]):
                errors.append(f"{where}.points[{j}]: must be [timestamp, number]")
                continue
            errors += _time(f"{where}.points[{j}]", p[0], now, WINDOWS["series"])
        errors += _tags(where, s.get("tags"))
    return errors


def check_errors(item: Any, now: float, where: str = "check") -> list[str]:
    """Why one service check is invalid."""
    errors = _keys(where, item, CHECK_KEYS)
    if errors:
        return errors
    if not isinstance(item.get("check"), str) or not METRIC.match(item["check"]):
        errors.append(f"{where}: check name {item.get('check')!r} is invalid")
    if not isinstance(item.get("host_name"), str) or not item["host_name"]:
        errors.append(f"{where}: host_name is required")
    if item.get("status") not in (0, 1, 2, 3) or isinstance(item.get("status"), bool):
        errors.append(f"{where}: status {item.get('status')!r} is not 0..3")
    if "timestamp" in item:
        errors += _time(where, item["timestamp"], now, WINDOWS["check_run"])
    if len(str(item.get("message", ""))) > 500:
        errors.append(f"{where}: message longer than 500 characters")
    return errors + _tags(where, item.get("tags"))


def event_errors(item: Any, now: float) -> list[str]:
    """Why one event is invalid."""
    errors = _keys("event", item, EVENT_KEYS)
    if errors:
        return errors
    title, text = item.get("title"), item.get("text")
    if not isinstance(title, str) or not 0 < len(title) <= 100:
        errors.append("event: title must be 1..100 characters")
    if not isinstance(text, str) or len(text) > 4000:
        errors.append("event: text must be a string of at most 4000 characters")
    if item.get("alert_type", "info") not in ("error", "warning", "info", "success"):
        errors.append(f"event: alert_type {item.get('alert_type')!r} is invalid")
    if len(str(item.get("aggregation_key", ""))) > 100:
        errors.append("event: aggregation_key longer than 100 characters")
    if "date_happened" in item:
        errors += _time("event", item["date_happened"], now, WINDOWS["events"])
    return errors + _tags("event", item.get("tags"))


def monitor_errors(item: Any) -> list[str]:
    """Why a monitor body is invalid (the Monitors API's basic rules)."""
    if not isinstance(item, dict):
        return ["monitor: not an object"]
    errors = []
    if item.get("type") not in MONITOR_TYPES:
        errors.append(f"monitor: type {item.get('type')!r} is invalid")
    for key in ("name", "query", "message"):
        if not isinstance(item.get(key), str) or not item[key]:
            errors.append(f"monitor: {key} is required")
    if not isinstance(item.get("options", {}), dict):
        errors.append("monitor: options must be an object")
    return errors + _tags("monitor", item.get("tags"))


def handle(intake: Any, method: str, path: str, query: str, headers: Any,
           body: bytes, seen: Any) -> tuple[int, Any]:
    """Route one request: (status, JSON answer). Records what it accepts."""
    if headers.get("DD-API-KEY") != intake.api_key:
        return 403, {"errors": ["Forbidden"]}
    if len(body) > intake.max_payload_bytes:
        return 413, {"errors": ["Payload too large"]}
    doc: Any = None
    if body:
        if headers.get("Content-Type", "").split(";")[0] != "application/json":
            return _reject(intake, 400, "Content-Type must be application/json")
        try:
            doc = json.loads(body, parse_constant=_no_nan)
        except ValueError as exc:
            return _reject(intake, 400, f"invalid JSON: {exc}")
    now = intake.clock()
    state = intake.state
    if path == "/api/v1/validate" and method == "GET":
        return 200, {"valid": True}
    if path == "/api/v1/series" and method == "POST":
        errors = series_errors(doc, now)
        if errors:
            return _reject(intake, 400, *errors)
        with intake.lock:
            state.series.extend(doc["series"])
        seen.items = len(doc["series"])
        return 202, {"status": "ok"}
    if path == "/api/v1/check_run" and method == "POST":
        items = doc if isinstance(doc, list) else [doc]
        errors = [e for i, c in enumerate(items) for e in check_errors(c, now, f"check[{i}]")]
        if errors or not items:
            return _reject(intake, 400, *(errors or ["no service check"]))
        with intake.lock:
            state.checks.extend(items)
        seen.items = len(items)
        return 202, {"status": "ok"}
    if path == "/api/v1/events" and method == "POST":
        errors = event_errors(doc, now)
        if errors:
            return _reject(intake, 400, *errors)
        with intake.lock:
            state.events.append(doc)
        seen.items = 1
        return 202, {"status": "ok", "event": {"id": next(_ids), **doc}}
    if path.startswith("/api/v1/monitor"):
        return _monitors(intake, method, path, query, headers, doc)
    return 404, {"errors": [f"no route {method} {path}"]}


def _reject(intake: Any, status: int, *errors: str) -> tuple[int, Any]:
    with intake.lock:
        intake.state.rejected.extend(errors)
    return status, {"errors": list(errors)}


def _monitors(intake: Any, method: str, path: str, query: str,
              headers: Mapping[str, str], doc: Any) -> tuple[int, Any]:
    if not intake.app_key or headers.get("DD-APPLICATION-KEY") != intake.app_key:
        return 403, {"errors": ["Forbidden: an application key is required"]}
    monitors = intake.state.monitors
    rest = path.removeprefix("/api/v1/monitor").strip("/")
    if rest == "validate" and method == "POST":
        errors = monitor_errors(doc)
        return (400, {"errors": errors}) if errors else (200, {})
    if rest == "" and method == "GET":
        wanted = parse_qs(query).get("monitor_tags", [""])[0]
        found = [m for m in monitors.values()
                 if not wanted or set(wanted.split(",")) <= set(m.get("tags", []))]
        return 200, found
    if rest == "" and method == "POST":
        errors = monitor_errors(doc)
        if errors:
            return _reject(intake, 400, *errors)
        new = {**doc, "id": next(_ids)}
        with intake.lock:
            monitors[new["id"]] = new
        return 200, new
    if rest.isdigit() and int(rest) in monitors:
        if method == "GET":
            return 200, monitors[int(rest)]
        if method == "PUT":
            errors = monitor_errors(doc)
            if errors:
                return _reject(intake, 400, *errors)
            with intake.lock:
                monitors[int(rest)] = {**doc, "id": int(rest)}
            return 200, monitors[int(rest)]
    return 404, {"errors": [f"no monitor route {method} {path}"]}
