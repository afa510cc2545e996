"""Datadog tags, normalised by us and bounded in cardinality.

Datadog's rules (docs "Getting Started with Tags"): lowercase; letters, digits, ``_ - :
. /``; start with a letter; at most 200 characters; other characters become ``_``. We
apply them ourselves so that what we send, spool and compare is what Datadog stores.

Cardinality: only the keys of :data:`RUN_KEYS` and :data:`RESULT_KEYS` are ever used;
run ids, changing IPs, serials and error text go into event text, never tags. A run
with more distinct targets than ``max_contexts`` sends the first ones and counts the
rest as dropped (a misconfigured target list must not explode the bill).
"""

from __future__ import annotations

import re

from seawall.model import Finding, RunInfo

MAX_TAG = 200
#: At most this many extra tags from ``SEAWALL_TAGS`` (a schedule's ``tags``).
MAX_EXTRA_TAGS = 10
RUN_KEYS = ("env", "service", "version", "team", "location", "schedule")
RESULT_KEYS = ("suite", "check", "target")
_BAD = re.compile(r"[^a-z0-9_\-:./]")
_UNDERSCORES = re.compile(r"__+")


def normalize(tag: str) -> str:
    """One tag in Datadog's stored form: ``"Env:Prod Eu"`` -> ``"env:prod_eu"``."""
    text = _UNDERSCORES.sub("_", _BAD.sub("_", tag.lower()))
    text = text.lstrip("_-:./0123456789")
    text = text[:MAX_TAG].rstrip("_")
    return text


def tag(key: str, value: str) -> str:
    """``key:value`` normalised; an empty value becomes ``none`` (tags must not dangle)."""
    return normalize(f"{key}:{value or 'none'}")


def run_tags(run: RunInfo, *, service: str = "seawall") -> list[str]:
    """Tags on everything a run sends: env, service, version, team, location, schedule."""
    values = {
        "env": run.env,
        "service": service,
        "version": run.version,
        "team": run.team,
        "location": run.location,
        "schedule": run.schedule,
    }
    return [tag(k, values[k]) for k in RUN_KEYS]


def extra_tags(text: str) -> list[str]:
    """The ``key:value`` tags of ``SEAWALL_TAGS`` (``"tier:1,Owner:Net Sec"``), normalised,
    de-duplicated, at most :data:`MAX_EXTRA_TAGS`. An entry without a key and a value,
    or whose key is one Seawall sets itself (env, check, outcome, ...), is left out: a
    schedule's tags add to the standard ones, never replace or fork them."""
    reserved = {*RUN_KEYS, *RESULT_KEYS, "outcome", "reason", "host"}
    found: list[str] = []
    for entry in text.split(","):
        key, sep, value = entry.strip().partition(":")
        if not sep or not key.strip() or not value.strip():
            continue
        normal = normalize(f"{key.strip()}:{value.strip()}")
        key_part, _, value_part = normal.partition(":")
        if not value_part or key_part in reserved or normal in found:
            continue
        found.append(normal)
        if len(found) == MAX_EXTRA_TAGS:
            break
    return found


def result_tags(base: list[str], finding: Finding) -> list[str]:
    """The run tags plus suite, check and target of one finding."""
    return [*base, tag("suite", finding.suite), tag("check", finding.check),
            tag("target", finding.target)]


def is_valid(tag_text: str) -> bool:
    """Whether a tag is already in normalised form (what the intake enforces)."""
    return bool(tag_text) and normalize(tag_text) == tag_text


class ContextBudget:
    """Admits at most ``limit`` distinct (check, target) contexts per run."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: set[tuple[str, str]] = set()
        self.refused = 0

    def admit(self, finding: Finding) -> bool:
        """True if this finding's context fits the budget (counts the ones refused)."""
        key = (finding.check, finding.target)
        if key in self.seen:
            return True
        if len(self.seen) >= self.limit:
            self.refused += 1
            return False
        self.seen.add(key)
        return True
