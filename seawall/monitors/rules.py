"""What a monitor body in ``monitors/*.json`` must satisfy before it goes to Datadog.

Pure checks over the Monitors API's own JSON shape: required fields and types, the tag
``seawall_monitor:<file stem>`` that makes ``push`` idempotent, every metric and
service-check name in the query being one Seawall emits
(:mod:`seawall.report.registry`), group-by and filter tags being ones Seawall sets, a
service-check query using ``.last(N)`` with thresholds <= N, and a metric alert's
critical threshold matching the number in its query (the API rejects a mismatch).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from seawall.report import registry
from seawall.report.tags import RESULT_KEYS, RUN_KEYS

TYPES = ("service check", "metric alert", "query alert")
REQUIRED = {"name": str, "type": str, "query": str, "message": str, "tags": list,
            "options": dict}
ALLOWED = {*REQUIRED, "priority", "restricted_roles"}
TAG_KEYS = {*RUN_KEYS, *RESULT_KEYS, "outcome", "reason", "host"}
ID_TAG = "seawall_monitor"

_METRIC = re.compile(r"\b(?:avg|sum|min|max|count):([a-zA-Z][a-zA-Z0-9_.]*)\s*\{([^}]*)\}")
_CHECK = re.compile(r'^"([^"]+)"\.over\(([^)]*)\)')
_LAST = re.compile(r"\.last\((\d+)\)")
_BY = re.compile(r"(?:by\s*\{([^}]*)\}|\.by\(([^)]*)\))")
_COMPARE = re.compile(r"(<=|>=|<|>|==)\s*(-?\d+(?:\.\d+)?)\s*$")


def names_in(query: str) -> tuple[list[str], list[str]]:
    """(metric names, service-check names) a query refers to."""
    metrics = [m[1] for m in _METRIC.finditer(query)]
    check = _CHECK.match(query.strip())
    return metrics, [check[1]] if check else []


def _tag_keys(query: str) -> list[str]:
    keys: list[str] = []
    for m in _METRIC.finditer(query):
        keys += [t.split(":")[0].strip().lstrip("!") for t in m[2].split(",")
                 if t.strip() and t.strip() != "*"]
    for m in _BY.finditer(query):
        keys += [k.strip().strip('"') for k in (m[1] or m[2]).split(",") if k.strip()]
    check = _CHECK.match(query.strip())
    if check:
        keys += [t.strip().strip('"').split(":")[0] for t in check[2].split(",")
                 if t.strip().strip('"') not in ("", "*")]
    return keys


def problems(stem: str, body: Any) -> list[str]:
    """Everything wrong with one monitor body (empty: valid). ``stem`` is its file stem."""
    if not isinstance(body, Mapping):
        return ["the file must hold one JSON object (a Monitors API body)"]
    out = [f"{k}: unknown field (allowed: {', '.join(sorted(ALLOWED))})"
           for k in body if k not in ALLOWED]
    for key, kind in REQUIRED.items():
        if not isinstance(body.get(key), kind) or not body.get(key):
            out.append(f"{key}: required, a non-empty {kind.__name__}")
    if out:
        return out
    if body["type"] not in TYPES:
        out.append(f"type: {body['type']!r} is not one of {', '.join(TYPES)}")
    wanted = f"{ID_TAG}:{stem}"
    if wanted not in body["tags"]:
        out.append(f"tags: must contain {wanted!r} (push finds the monitor by it)")
    query = body["query"]
    metrics, checks = names_in(query)
    if not metrics and not checks:
        out.append("query: names no metric or service check")
    out += [f"query: {n!r} is not a name Seawall emits (seawall/report/registry.py)"
            for n in [*metrics, *checks] if not registry.is_emitted(n)]
    out += [f"query: tag {k!r} is not one Seawall sets ({', '.join(sorted(TAG_KEYS))})"
            for k in _tag_keys(query) if k not in TAG_KEYS]
    thresholds = body["options"].get("thresholds", {})
    if not isinstance(thresholds, dict) or "critical" not in thresholds:
        return [*out, "options.thresholds.critical: required"]
    if body["type"] == "service check":
        out += _service_check(query, checks, thresholds)
    else:
        out += _metric_alert(query, thresholds)
    return out


def _service_check(query: str, checks: list[str], thresholds: dict[str, Any]) -> list[str]:
    last = _LAST.search(query)
    if not checks or last is None or "count_by_status()" not in query:
        return ['query: a service check monitor reads \'"<check>".over(...).last(N)'
                '.count_by_status()\'']
    n = int(last[1])
    return [f"options.thresholds.{k}: {v!r} must be an integer 1..{n} (last({n}))"
            for k, v in thresholds.items() if not isinstance(v, int) or not 1 <= v <= n]


def _metric_alert(query: str, thresholds: dict[str, Any]) -> list[str]:
    compare = _COMPARE.search(query)
    if compare is None:
        return ["query: a metric alert ends with a comparison, e.g. '< 14'"]
    if float(thresholds["critical"]) != float(compare[2]):
        return [f"options.thresholds.critical: {thresholds['critical']} differs from the "
                f"query's threshold {compare[2]}"]
    return []
