"""Results -> Datadog payloads (pure mapping), and the HTTP transport over ``datadog.api``.

The outcome mapping, in one place (:data:`EVENT_ALERT` and ``Outcome.severity``):

======== ============================ ====================== ==============
outcome  service check ``seawall.check`` gauge ``check.result``  event
======== ============================ ====================== ==============
pass     0 OK                         0                      ``success`` on recovery
warn     1 WARNING                    1                      none
fail     2 CRITICAL                   2                      ``error``
error    3 UNKNOWN                    3                      ``warning``
======== ============================ ====================== ==============

Every timestamp is the probe's completion time (``Finding.observed_at``), never the
send time, so a replayed gauge lands on its original point (idempotent). Payloads are
plain JSON dicts: what the spool keeps is exactly what is sent.

:class:`DatadogReporter` collects a run's results on the controller, maps them at
``finish``, spools them, then delivers the spool (see :mod:`seawall.report.spool`)
through :mod:`seawall.report.transport`, or over DogStatsD when only an Agent is there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seawall.model import JSON, CheckResult, Outcome, RunInfo, RunSummary
from seawall.report import registry
from seawall.report.delivery import (
    DEFAULT_BUDGET,
    DeliveryBudget,
    http_delivery,
    spool_lock,
)
from seawall.report.evidence import write_atomic
from seawall.report.tags import ContextBudget, extra_tags, result_tags, run_tags, tag
from seawall.report.transport import Payload, Secret, Verdict

EVENT_ALERT = {Outcome.FAIL: "error", Outcome.ERROR: "warning"}
EVENT_WORD = {Outcome.FAIL: "FAIL", Outcome.ERROR: "INCONCLUSIVE"}
MAX_EVENT_TEXT = 4000
MAX_TITLE = 100
MAX_AGGREGATION_KEY = 100
MAX_CHECK_MESSAGE = 500
KINDS = ("series", "check_run", "events")
STATUS_FILE = "datadog-last-status.json"
STATUS_RETENTION = 90 * 86400

log = logging.getLogger("seawall.report.datadog")


@dataclass(frozen=True, kw_only=True)
class Identity:
    """Who sends: the explicit host name, the service tag, and ``extra`` tags added to
    the run's base tags (a schedule's tags, from ``SEAWALL_TAGS``)."""

    host: str
    service: str = "seawall"
    extra: tuple[str, ...] = ()


def site_url(site: str) -> str:
    """The API base URL for a Datadog site: ``datadoghq.eu`` -> ``https://api.datadoghq.eu``;
    a full ``http(s)://`` URL is used as it is (a proxy, the test intake)."""
    site = site.strip().rstrip("/")
    if site.startswith(("https://", "http://")):
        return site
    return f"https://api.{site or 'datadoghq.com'}"


def aggregation_key(check: str, target: str) -> str:
    """``seawall:<check>:<target>``, at most 100 characters, still unique when cut."""
    key = f"seawall:{check}:{target}"
    if len(key) <= MAX_AGGREGATION_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f"{key[: MAX_AGGREGATION_KEY - 13]}~{digest}"


def _gauge(name: str, value: float, ts: float, host: str, tags: list[str]) -> Payload:
    return {"metric": name, "type": "gauge", "points": [[int(ts), float(value)]],
            "host": host, "tags": tags}


def _markdown(lines: list[str], evidence: Mapping[str, JSON]) -> str:
    """Datadog markdown (``%%%`` fenced), the evidence as a JSON block, <= 4000 chars."""
    head, tail = "%%% \n", "\n %%%"
    body = "\n".join(lines)
    block = json.dumps(dict(evidence), indent=1, sort_keys=True, allow_nan=False)
    cut = "\n... (truncated; full evidence in the evidence file)"
    room = MAX_EVENT_TEXT - len(f"{head}{body}\n\n```\n\n```{tail}")
    if len(block) > room:
        block = block[: max(0, room - len(cut))] + cut
    text = f"{head}{body}\n\n```\n{block}\n```{tail}"
    if len(text) > MAX_EVENT_TEXT:  # only when the lines themselves are huge
        text = text[: MAX_EVENT_TEXT - len(tail)] + tail
    return text


def failure_event(r: CheckResult, env: str, run_id: str, host: str, tags: list[str]) -> Payload:
    """The ``error``/``warning`` event of a failed or inconclusive result."""
    f = r.finding
    title = f"[Seawall] {EVENT_WORD[f.outcome]} {f.check} on {f.target} ({env})"
    lines = [f"**{f.summary}**", "", f"- check: `{f.check}`  target: `{f.target}`",
             f"- outcome: {f.outcome.value}, reason: `{f.reason}`", f"- run: `{run_id}`",
             f"- test: `{r.test_id}`"]
    if r.claim:
        lines.insert(1, f"Promise: {r.claim}")
    return {"title": title[:MAX_TITLE], "text": _markdown(lines, f.evidence),
            "date_happened": int(f.observed_at), "alert_type": EVENT_ALERT[f.outcome],
            "aggregation_key": aggregation_key(f.check, f.target), "host": host,
            "tags": [*tags, tag("outcome", f.outcome.value), tag("reason", f.reason or "")],
            "source_type_name": "seawall"}


def recovery_event(r: CheckResult, env: str, run_id: str, host: str, tags: list[str]) -> Payload:
    """The ``success`` event of a check that passes again after failing."""
    f = r.finding
    lines = [f"**{f.summary}**", "", f"- check: `{f.check}`  target: `{f.target}`",
             f"- recovered in run `{run_id}`"]
    return {"title": f"[Seawall] RECOVERED {f.check} on {f.target} ({env})"[:MAX_TITLE],
            "text": _markdown(lines, f.evidence), "date_happened": int(f.observed_at),
            "alert_type": "success", "aggregation_key": aggregation_key(f.check, f.target),
            "host": host, "tags": [*tags, tag("outcome", "pass")],
            "source_type_name": "seawall"}


def status_key(check: str, target: str) -> str:
    """Key of one context in the last-status state file."""
    return f"{check}\t{target}"


@dataclass
class Mapped:
    """A run as Datadog payloads, plus what mapping left out and the new last statuses."""

    parts: dict[str, list[Payload]]
    statuses: dict[str, int]
    unregistered: set[str]
    over_budget: int


def map_run(
    summary: RunSummary,
    results: list[CheckResult],
    *,
    identity: Identity,
    previous: Mapping[str, int],
    spooled: int = 0,
    dropped: int = 0,
    max_contexts: int = 10_000,
) -> Mapped:
    """Every payload of one run: per-result gauges, service checks and events, then the
    run-level gauges (heartbeat, duration, checks by outcome, spooled, dropped)."""
    run = summary.run
    base = [*run_tags(run, service=identity.service), *identity.extra]
    host = identity.host
    series: list[Payload] = []
    checks: list[Payload] = []
    events: list[Payload] = []
    statuses: dict[str, int] = {}
    unregistered: set[str] = set()
    budget = ContextBudget(max_contexts)
    for r in results:
        f = r.finding
        if not budget.admit(f):
            continue
        tags = result_tags(base, f)
        ts = f.observed_at
        series.append(_gauge("seawall.check.result", f.outcome.severity, ts, host, tags))
        series.append(_gauge("seawall.check.duration", r.duration, ts, host, tags))
        for name, value in sorted(f.metrics.items()):
            full = registry.finding_metric(name)
            if full is None:
                unregistered.add(name)
                continue
            series.append(_gauge(full, value, ts, host, tags))
        checks.append({"check": registry.SERVICE_CHECK, "host_name": host,
                       "status": f.outcome.severity, "timestamp": int(ts),
                       "message": f.summary[:MAX_CHECK_MESSAGE], "tags": tags})
        key = status_key(f.check, f.target)
        if f.outcome in EVENT_ALERT:
            events.append(failure_event(r, run.env, run.run_id, host, tags))
        elif f.outcome is Outcome.PASS and previous.get(key, 0) >= 2:
            events.append(recovery_event(r, run.env, run.run_id, host, tags))
        statuses[key] = f.outcome.severity
    end = summary.finished_at
    series.append(_gauge("seawall.run.heartbeat", 1, end, host, base))
    series.append(_gauge("seawall.run.duration", summary.duration, end, host, base))
    for outcome in Outcome:
        count = summary.counts.get(outcome.value, 0)
        series.append(_gauge("seawall.run.checks", count, end, host,
                             [*base, tag("outcome", outcome.value)]))
    series.append(_gauge("seawall.report.spooled", spooled, end, host, base))
    series.append(_gauge("seawall.report.dropped", dropped + budget.refused, end, host, base))
    return Mapped(parts={"series": series, "check_run": checks, "events": events},
                  statuses=statuses, unregistered=unregistered, over_budget=budget.refused)


def lost_event(run: RunInfo, host: str, service: str, count: int, now: float,
               extra: tuple[str, ...] = ()) -> Payload:
    """The one event announcing items dropped while Datadog could not take them."""
    text = (f"%%% \n{count} Seawall items (gauges, service checks or events) were dropped "
            "before Datadog accepted them: they were past Datadog's acceptance window "
            "(metrics 1 h, service checks 10 min, events 18 h) or the spool was full. "
            "The evidence files keep every result.\n %%%")
    return {"title": f"[Seawall] {count} results expired before delivery ({run.env})",
            "text": text, "date_happened": int(now), "alert_type": "warning",
            "aggregation_key": "seawall:delivery", "host": host,
            "tags": [*run_tags(run, service=service), *extra], "source_type_name": "seawall"}


class DatadogReporter:
    """Maps a run to Datadog payloads at ``finish``, spools them, delivers the spool.

    Built by :meth:`create` from the ``[datadog]`` settings and the environment (the API
    key only ever comes from ``DD_API_KEY``). ``sender`` is the HTTP transport (spooled,
    replayed, bounded by the run's delivery budget) or a DogStatsD transport (best
    effort, ``spool`` is None). ``extra_tags`` go on everything the run sends.
    """

    name = "datadog"

    def __init__(self, *, sender: Any, spool: Any | None, state_file: Path, host: str,
                 service: str = "seawall", overrides: Mapping[str, str] | None = None,
                 where: str = "", clock: Callable[[], float] = time.time,
                 extra_tags: tuple[str, ...] = ()) -> None:
        self.sender = sender
        self.spool = spool
        self.state_file = state_file
        self.identity = Identity(host=host, service=service, extra=extra_tags)
        self.overrides = {k: v for k, v in (overrides or {}).items() if v}
        self.where = where
        self.clock = clock
        self.results: list[CheckResult] = []
        self.deliveries: list[Any] = []
        self.mapped: Mapped | None = None
        self.messages: list[str] = []
        self.run: RunInfo | None = None

    def __repr__(self) -> str:
        return f"DatadogReporter(where={self.where!r}, host={self.identity.host!r})"

    @classmethod
    def create(cls, *, state_dir: Path, environ: Mapping[str, str], site: str = "",
               env: str = "", service: str = "seawall", team: str = "", location: str = "",
               host_name: str = "", timeout: float = 10.0, spool_max_files: int = 500,
               spool_max_bytes: int = 50_000_000, ca_file: Path | None = None,
               delivery_budget: float = DEFAULT_BUDGET, **_: Any) -> DatadogReporter:
        """The reporter for these settings: HTTP when ``DD_API_KEY`` is set (at most
        ``delivery_budget`` seconds of delivery per run), else DogStatsD
        (``DD_AGENT_HOST``/``DD_DOGSTATSD_URL``). ``SEAWALL_TAGS`` (set by the scheduler
        from the schedule's ``tags``) adds its tags to everything sent."""
        host = host_name or f"seawall-{location or 'local'}"
        overrides = {"env": environ.get("DD_ENV", "") or env, "team": team,
                     "location": location}
        extra = tuple(extra_tags(environ.get("SEAWALL_TAGS", "")))
        key = environ.get("DD_API_KEY", "")
        if key:
            url = site_url(environ.get("DD_SITE", "") or site)
            sender, spool = http_delivery(
                key, api_host=url, host_name=host, timeout=timeout, ca_file=ca_file,
                budget=delivery_budget, state_dir=state_dir, max_files=spool_max_files,
                max_bytes=spool_max_bytes)
            return cls(sender=sender, spool=spool, state_file=state_dir / STATUS_FILE,
                       host=host, service=service, overrides=overrides, where=url,
                       extra_tags=extra)
        from seawall.report.dogstatsd import StatsdTransport

        statsd = StatsdTransport(environ)
        return cls(sender=statsd, spool=None, state_file=state_dir / STATUS_FILE, host=host,
                   service=service, overrides=overrides, where=statsd.target,
                   extra_tags=extra)

    def _lost(self, count: int) -> Payload:
        assert self.run is not None
        return lost_event(self.run, self.identity.host, self.identity.service, count,
                          self.clock(), self.identity.extra)

    def _deliver(self) -> None:
        if self.spool is None:
            return
        budget = getattr(self.sender, "budget", None)
        if not isinstance(budget, DeliveryBudget):
            budget = DeliveryBudget()
        with spool_lock(self.spool.directory, budget=budget) as held:
            if not held:  # another process is delivering this spool: ours waits in it
                text = (f"delivery skipped: another Seawall process kept the spool busy "
                        f"for the rest of this run's {budget.total:g} s delivery budget")
                if text not in self.messages:
                    self.messages.append(text)
                    log.warning("Datadog %s", text)
                return
            delivery = self.spool.deliver(self.sender, lost_event=self._lost)
        self.deliveries.append(delivery)
        stopped = delivery.stopped
        if stopped is not None and stopped.verdict is Verdict.AUTH:
            text = (f"Datadog refused the request (HTTP {stopped.status} from {self.where}): "
                    "check DD_API_KEY and DD_SITE")
            if text not in self.messages:
                self.messages.append(text)
                log.error("%s", text)
        elif stopped is not None:
            log.warning("Datadog delivery stopped: %s", stopped.detail)

    def _identity_of(self, run: RunInfo) -> RunInfo:
        o = self.overrides
        return dataclasses.replace(run, env=o.get("env", run.env), team=o.get("team", run.team),
                                   location=o.get("location", run.location))

    def start(self, run: RunInfo) -> None:
        """Replay what earlier runs left in the spool (oldest first)."""
        self.run = self._identity_of(run)
        self._deliver()

    def result(self, result: CheckResult) -> None:
        """Keep the result; nothing is sent per test (one batch per run)."""
        self.results.append(result)

    def finish(self, summary: RunSummary) -> None:
        """Map, remember statuses, spool atomically, then deliver the whole spool."""
        run = self.run or self._identity_of(summary.run)
        self.run = run
        summary = dataclasses.replace(summary, run=run)
        previous = self._load_statuses()
        spooled = self.spool.pending_items() if self.spool is not None else 0
        dropped = self.spool.take_dropped() if self.spool is not None else 0
        mapped = map_run(summary, self.results, identity=self.identity,
                         previous={k: int(v[0]) for k, v in previous.items()},
                         spooled=spooled, dropped=dropped)
        secret = getattr(self.sender, "api_key", None)
        if isinstance(secret, Secret):  # evidence could quote it; never send or spool it
            mapped.parts = json.loads(secret.scrub(json.dumps(mapped.parts)))
        self.mapped = mapped
        now = self.clock()
        previous.update({k: [float(v), now] for k, v in mapped.statuses.items()})
        self._save_statuses({k: v for k, v in previous.items() if now - v[1] < STATUS_RETENTION})
        if self.spool is None:
            for kind in KINDS:
                if mapped.parts[kind]:
                    self.sender.send(kind, mapped.parts[kind])
            self.sender.close()
            return
        try:
            self.spool.put(run.run_id, run.started_at, mapped.parts)
        except OSError as exc:
            self.messages.append(f"cannot spool to {self.spool.directory}: {exc}")
            return
        self._deliver()

    def _load_statuses(self) -> dict[str, list[float]]:
        try:
            data: dict[str, list[float]] = json.loads(self.state_file.read_text())
            return data
        except (OSError, ValueError):
            return {}

    def _save_statuses(self, data: Mapping[str, list[float]]) -> None:
        try:
            write_atomic(self.state_file, json.dumps(data, sort_keys=True).encode())
        except OSError as exc:
            self.messages.append(f"cannot keep last statuses in {self.state_file}: {exc}")

    def status(self) -> str:
        """One line: what was sent where, or what is kept and why."""
        parts: list[str] = []
        sent = {k: sum(d.sent[k] for d in self.deliveries) for k in KINDS}
        requests = sum(d.requests for d in self.deliveries)
        if self.spool is None:
            parts.append(f"best effort over DogStatsD to {self.where} "
                         f"({self.sender.datagrams} datagrams, nothing spooled)")
        else:
            parts.append(f"sent to {self.where}: {sent['series']} gauges, "
                         f"{sent['check_run']} service checks, {sent['events']} events "
                         f"in {requests} requests")
            last = self.deliveries[-1] if self.deliveries else None
            if last is not None and last.stopped is not None:
                kept = self.spool.pending_items()
                why = (self.messages[0] if last.stopped.verdict is Verdict.AUTH
                       else f"NOT DELIVERED: {last.stopped.detail or last.stopped.status}")
                parts.append(f"{why}; {kept} items kept in {self.spool.directory}, "
                             "retried at the next run")
            for d in self.deliveries:
                parts.extend(f"{text}, kept in {self.spool.directory}/rejected"
                             for text in d.rejections)
            expired = sum(d.expired for d in self.deliveries)
            if expired:
                parts.append(f"{expired} items past Datadog's window dropped")
        parts.extend(m for m in self.messages if m not in parts[0] and not
                     any(m in p for p in parts))
        if self.mapped is not None and self.mapped.unregistered:
            names = ", ".join(sorted(self.mapped.unregistered))
            parts.append(f"not sent (not in seawall.report.registry): {names}")
        return "; ".join(parts)
