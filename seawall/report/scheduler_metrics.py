"""The scheduler's own counts in Datadog: skipped ticks, run errors, finished runs,
catch-ups (``seawall.schedule.*``, listed in :mod:`seawall.report.registry`).

:class:`DatadogSchedulerMetrics` is the Datadog side of the scheduler's
``SchedulerMetrics`` seam (``count`` and ``flush``; neither ever raises). Counts add up
in memory; ``flush`` (after each run and at shutdown) turns them into one ``count``
point per name and tag set, stamped with the flush time, writes them atomically to the
same spool the reporter uses, and delivers that spool through the same budgeted HTTP
transport, holding the spool's delivery lock (:mod:`seawall.report.delivery`). So when
Datadog is down nothing is lost: the next flush, or the next run's reporter, replays
it within Datadog's one-hour window for metrics. A replayed point keeps its timestamp,
and no two flushes share one (a later flush moves to the next second), so a point sent
twice lands on the same second of the same series instead of adding up elsewhere.

Tags: the standard ones (env, service, version, team, location, schedule), the count's
own (``reason``, ``outcome``) and the schedule's ``tags``, all normalised by
:mod:`seawall.report.tags`. With only a DogStatsD Agent (no ``DD_API_KEY``) the counts
are sent as DogStatsD counters, best effort, as the reporter does.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from seawall.model import RunInfo
from seawall.report import registry
from seawall.report.datadog import lost_event, site_url
from seawall.report.delivery import DeliveryBudget, http_delivery, spool_lock
from seawall.report.spool import Delivery, Spool
from seawall.report.tags import RUN_KEYS, extra_tags, normalize, tag
from seawall.report.transport import Payload, Secret

#: Seconds one flush may spend delivering: the scheduler loop waits for it.
FLUSH_BUDGET = 5.0
SCHEDULER = "scheduler"

log = logging.getLogger("seawall.report.scheduler_metrics")


class DatadogSchedulerMetrics:
    """Counts the scheduler's events and delivers them to Datadog on ``flush``.

    ``sender`` is a :class:`~seawall.report.delivery.BudgetedTransport` with ``spool``,
    or a DogStatsD transport with ``spool=None`` (best effort). ``base`` holds the
    plain identity values (env, service, version, team, location); ``schedule_tags``
    the tags of each schedule by name.
    """

    def __init__(self, *, sender: Any, spool: Spool | None, host: str,
                 base: Mapping[str, str], schedule_tags: Mapping[str, Sequence[str]]
                 | None = None, flush_budget: float = FLUSH_BUDGET,
                 clock: Callable[[], float] = time.time) -> None:
        self.sender = sender
        self.spool = spool
        self.host = host
        self.base = {k: base.get(k, "") for k in RUN_KEYS if k != "schedule"}
        self.base_tags = [tag(k, v) for k, v in self.base.items()]
        self.schedule_tags = {name: extra_tags(",".join(tags))
                              for name, tags in (schedule_tags or {}).items()}
        self.flush_budget = flush_budget
        self.clock = clock
        self.pending: Counter[tuple[str, tuple[str, ...]]] = Counter()
        self.totals: Counter[tuple[str, tuple[str, ...]]] = Counter()
        self.unregistered: set[str] = set()
        self.deliveries: list[Delivery] = []
        self.problems: list[str] = []
        self._last_ts = 0

    def __repr__(self) -> str:
        return f"DatadogSchedulerMetrics(sender={self.sender!r}, host={self.host!r})"

    # --- the SchedulerMetrics seam ---------------------------------------------------

    def count(self, name: str, value: int = 1, *, tags: Sequence[str] = ()) -> None:
        """Add ``value`` to ``name`` (``schedule.tick_skipped``) with ``tags``
        (``schedule:tls``, ``reason:locked``). Never raises."""
        try:
            full = name if name.startswith(registry.PREFIX) else registry.PREFIX + name
            if full not in registry.SCHEDULER_METRICS:
                if full not in self.unregistered:
                    log.warning("not sent (not in seawall.report.registry): %s", full)
                self.unregistered.add(full)
                return
            key = (full, tuple(self._tags(tags)))
            self.pending[key] += int(value)
            self.totals[key] += int(value)
        except Exception as exc:  # the scheduler loop must never die of a metric
            self._problem(f"count {name!r}: {type(exc).__name__}: {exc}")

    def flush(self) -> None:
        """Spool what was counted and deliver the spool, within ``flush_budget``
        seconds; what cannot be delivered stays spooled. Never raises."""
        try:
            self._flush()
        except Exception as exc:  # counted items are spooled before any send
            self._problem(f"flush: {type(exc).__name__}: {exc}")

    def total(self, name: str, *tags: str) -> int:
        """Everything counted for ``name`` over the tag sets including ``tags`` (tests)."""
        full = name if name.startswith(registry.PREFIX) else registry.PREFIX + name
        return sum(v for (n, t), v in self.totals.items() if n == full and set(tags) <= set(t))

    # --- inside ----------------------------------------------------------------------

    def _tags(self, tags: Sequence[str]) -> list[str]:
        own = [normalize(t) for t in tags if ":" in t]
        own = [t for t in own if t.partition(":")[0] not in self.base and t.partition(":")[2]]
        schedule = next((t.partition(":")[2] for t in own if t.startswith("schedule:")), "")
        if not schedule:
            own.append(tag("schedule", ""))
        raw = next((t.partition(":")[2] for t in tags if t.startswith("schedule:")), "")
        extra = self.schedule_tags.get(raw, [])
        return sorted({*self.base_tags, *own, *extra})

    def _problem(self, text: str) -> None:
        secret = getattr(self.sender, "api_key", None)
        if isinstance(secret, Secret):
            text = secret.scrub(text)
        if text not in self.problems:
            self.problems.append(text)
            log.warning("scheduler metrics: %s", text)

    def _stamp(self) -> int:
        ts = max(int(self.clock()), self._last_ts + 1)
        self._last_ts = ts
        return ts

    def _take(self) -> list[Payload]:
        if not self.pending:
            return []
        ts = self._stamp()
        items: list[Payload] = [
            {"metric": name, "type": "count", "points": [[ts, float(value)]],
             "host": self.host, "tags": list(tags)}
            for (name, tags), value in sorted(self.pending.items())
        ]
        self.pending.clear()
        return items

    def _flush(self) -> None:
        items = self._take()
        if self.spool is None:
            for item in items:
                (_, value), = item["points"]
                self.sender.client.increment(item["metric"], value, tags=item["tags"])
            return
        if items:
            run_id = f"{SCHEDULER}-{uuid.uuid4().hex[:8]}"
            self.spool.put(run_id, float(items[0]["points"][0][0]),
                           {"series": items, "check_run": [], "events": []})
        if not self.spool.pending():
            return
        budget = DeliveryBudget(self.flush_budget)
        self.sender.budget = budget
        with spool_lock(self.spool.directory, budget=budget) as held:
            if not held:
                return  # a run is delivering the spool; it takes ours along or next time
            delivery = self.spool.deliver(self.sender, lost_event=self._lost)
        self.deliveries.append(delivery)
        if delivery.stopped is not None:
            self._problem(f"kept in {self.spool.directory}: {delivery.stopped.detail}")

    def _lost(self, count: int) -> Payload:
        now = self.clock()
        run = RunInfo(run_id=SCHEDULER, started_at=now, env=self.base["env"],
                      location=self.base["location"], team=self.base["team"],
                      schedule=SCHEDULER, version=self.base["version"])
        return lost_event(run, self.host, self.base["service"], count, now)


def create(*, state_dir: Path, environ: Mapping[str, str], base: Mapping[str, str],
           schedule_tags: Mapping[str, Sequence[str]] | None = None, site: str = "",
           host: str, timeout: float = 10.0, flush_budget: float = FLUSH_BUDGET,
           ca_file: Path | None = None, spool_max_files: int = 500,
           spool_max_bytes: int = 50_000_000) -> DatadogSchedulerMetrics | None:
    """The Datadog sink for these plain settings: HTTP (spooled) when ``DD_API_KEY`` is
    set, DogStatsD when ``DD_AGENT_HOST``/``DD_DOGSTATSD_URL`` is, else None."""
    key = environ.get("DD_API_KEY", "")
    if key:
        url = site_url(environ.get("DD_SITE", "") or site)
        sender, spool = http_delivery(
            key, api_host=url, host_name=host, timeout=timeout, ca_file=ca_file,
            budget=flush_budget, state_dir=state_dir, max_files=spool_max_files,
            max_bytes=spool_max_bytes)
        return DatadogSchedulerMetrics(sender=sender, spool=spool, host=host, base=base,
                                       schedule_tags=schedule_tags, flush_budget=flush_budget)
    if environ.get("DD_AGENT_HOST") or environ.get("DD_DOGSTATSD_URL"):
        from seawall.report.dogstatsd import StatsdTransport

        return DatadogSchedulerMetrics(sender=StatsdTransport(environ), spool=None, host=host,
                                       base=base, schedule_tags=schedule_tags)
    return None
