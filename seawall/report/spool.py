"""The spool: nothing is lost when Datadog cannot take a run's results.

Before any send, a run's payloads are written atomically to ``<dir>/<time>-<run>.json``
(temp file, fsync, rename: :func:`~seawall.report.evidence.write_atomic`). Delivery then
walks the spool oldest first (at the start and at the end of every run), and for each
response verdict (:class:`~seawall.report.datadog.Verdict`):

- ``sent``: the items leave the spool;
- ``retry`` (5xx, 408, 429, connection/TLS errors, timeouts, client backoff) and
  ``auth`` (401/403/404): the items stay and delivery stops until the next run;
- ``split`` (413): the list is halved and each half resent; a single item that is
  still too large is rejected;
- ``rejected`` (400...): the items move to ``<dir>/rejected/`` with Datadog's answer,
  as evidence, and count as dropped.

Items older than Datadog's acceptance window when their turn comes (metrics 1 h,
service checks 10 min, events 18 h: docs "Submit metrics", "Submit a Service Check",
"Post an event") are dropped, counted, and announced in one event once delivery works
again. The spool is bounded by files and bytes; the oldest files go first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from seawall.model import JSON
from seawall.report.evidence import write_atomic
from seawall.report.transport import Payload, Response, Verdict

#: Seconds after which Datadog no longer accepts an item, by payload kind.
WINDOWS = {"series": 3600.0, "check_run": 600.0, "events": 18 * 3600.0}
KINDS = ("series", "check_run", "events")
STATE_FILE = "counters.json"


class Sender(Protocol):
    """What delivery needs from a transport."""

    def send(self, kind: str, items: list[Payload]) -> Response:
        """POST one list of payloads of one kind."""
        ...


def item_time(kind: str, item: Payload) -> float:
    """The probe time an item carries (the point, the check, the event time)."""
    if kind == "series":
        return float(item["points"][0][0])
    if kind == "check_run":
        return float(item["timestamp"])
    return float(item["date_happened"])


@dataclass
class Delivery:
    """What one delivery pass did."""

    sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    requests: int = 0
    rejected: int = 0
    expired: int = 0
    stopped: Response | None = None
    rejections: list[str] = field(default_factory=list)


class Spool:
    """A directory of pending run payloads, bounded, replayed oldest first."""

    def __init__(self, directory: Path, *, max_files: int = 500, max_bytes: int = 50_000_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.clock = clock

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r})"

    # --- files ---------------------------------------------------------------------

    def pending(self) -> list[Path]:
        """Spool files, oldest first (names start with the UTC time of the run)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"))

    def put(self, run_id: str, started_at: float, parts: dict[str, list[Payload]]) -> Path:
        """Write a run's payloads atomically, then enforce the bounds."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started_at))
        path = self.directory / f"{stamp}-{run_id}.json"
        self._write(path, {"run_id": run_id, "parts": parts})
        self._bound(keep=path)
        return path

    def _write(self, path: Path, doc: dict[str, JSON]) -> None:
        write_atomic(path, json.dumps(doc, separators=(",", ":"), allow_nan=False).encode())

    def _load(self, path: Path) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(path.read_bytes())
        return doc

    def pending_items(self) -> int:
        """How many payload items wait in the spool."""
        total = 0
        for path in self.pending():
            try:
                total += sum(len(v) for v in self._load(path)["parts"].values())
            except (OSError, ValueError, KeyError):
                continue
        return total

    def _bound(self, keep: Path) -> None:
        files = self.pending()
        sizes = {p: p.stat().st_size for p in files}
        while files and (len(files) > self.max_files or sum(sizes.values()) > self.max_bytes):
            oldest = files.pop(0)
            if oldest == keep:
                break
            try:
                items = sum(len(v) for v in self._load(oldest)["parts"].values())
            except (OSError, ValueError, KeyError):
                items = 0
            oldest.unlink(missing_ok=True)
            sizes.pop(oldest)
            self.count("dropped_full", items)

    # --- counters (persisted across runs) --------------------------------------------

    def counters(self) -> dict[str, int]:
        """Persisted counts: ``expired``, ``dropped_full``, ``rejected``, ``unannounced``."""
        try:
            data: dict[str, int] = json.loads((self.directory / "state" / STATE_FILE).read_text())
            return data
        except (OSError, ValueError):
            return {}

    def count(self, name: str, n: int) -> None:
        """Add ``n`` to a persisted counter."""
        if n <= 0:
            return
        data = self.counters()
        data[name] = data.get(name, 0) + n
        if name in ("expired", "dropped_full"):
            data["unannounced"] = data.get("unannounced", 0) + n
        write_atomic(self.directory / "state" / STATE_FILE, json.dumps(data).encode())

    def take_dropped(self) -> int:
        """Items dropped (rejected, expired, spool full) since the last call, for the
        ``seawall.report.dropped`` gauge of the run being reported."""
        data = self.counters()
        total = sum(data.get(k, 0) for k in ("rejected", "expired", "dropped_full"))
        new = total - data.get("reported", 0)
        if new:
            data["reported"] = total
            write_atomic(self.directory / "state" / STATE_FILE, json.dumps(data).encode())
        return new

    def _announced(self) -> None:
        data = self.counters()
        data["unannounced"] = 0
        write_atomic(self.directory / "state" / STATE_FILE, json.dumps(data).encode())

    # --- delivery --------------------------------------------------------------------

    def deliver(self, sender: Sender, *, lost_event: Callable[[int], Payload]) -> Delivery:
        """Send every spooled item, oldest file first, until a response says stop."""
        report = Delivery()
        for path in self.pending():
            try:
                doc = self._load(path)
            except (OSError, ValueError) as exc:
                self._reject(path.name, "unreadable", [], f"unreadable spool file: {exc}")
                path.unlink(missing_ok=True)
                continue
            keep = self._deliver_doc(sender, path.name, doc, report)
            if report.stopped is None and not any(keep.values()):
                path.unlink(missing_ok=True)
            else:
                doc["parts"] = keep
                self._write(path, doc)
            if report.stopped is not None:
                return report
        pending_loss = self.counters().get("unannounced", 0)
        if pending_loss and sum(report.sent.values()):
            response = sender.send("events", [lost_event(pending_loss)])
            report.requests += 1
            if response.verdict is Verdict.SENT:
                self._announced()
        return report

    def _deliver_doc(self, sender: Sender, name: str, doc: dict[str, Any],
                     report: Delivery) -> dict[str, list[Payload]]:
        now = self.clock()
        keep: dict[str, list[Payload]] = {}
        for kind in KINDS:
            items: list[Payload] = doc["parts"].get(kind, [])
            fresh = [i for i in items if now - item_time(kind, i) <= WINDOWS[kind]]
            expired = len(items) - len(fresh)
            if expired:
                report.expired += expired
                self.count("expired", expired)
            if report.stopped is not None:
                keep[kind] = fresh
                continue
            if kind == "events":
                keep[kind] = self._send_each(sender, name, kind, fresh, report)
            else:
                keep[kind] = self._send_split(sender, name, kind, fresh, report)
        return keep

    def _send_each(self, sender: Sender, name: str, kind: str, items: list[Payload],
                   report: Delivery) -> list[Payload]:
        for i, item in enumerate(items):
            left = self._send_split(sender, name, kind, [item], report)
            if report.stopped is not None:
                return [*left, *items[i + 1:]]
        return []

    def _send_split(self, sender: Sender, name: str, kind: str, items: list[Payload],
                    report: Delivery) -> list[Payload]:
        """Send ``items``; return those still to keep (all of them when told to stop)."""
        if not items:
            return []
        response = sender.send(kind, items)
        report.requests += 1
        if response.verdict is Verdict.SENT:
            report.sent[kind] += len(items)
            return []
        if response.verdict is Verdict.SPLIT and len(items) > 1:
            half = len(items) // 2
            left = self._send_split(sender, name, kind, items[:half], report)
            if report.stopped is not None:
                return [*left, *items[half:]]
            return [*left, *self._send_split(sender, name, kind, items[half:], report)]
        if response.verdict in (Verdict.REJECTED, Verdict.SPLIT):
            why = f"HTTP {response.status}: {response.detail}"
            self._reject(name, kind, items, why)
            report.rejected += len(items)
            report.rejections.append(f"{len(items)} {kind} rejected ({why[:200]})")
            return []
        report.stopped = response
        return items

    def _reject(self, name: str, kind: str, items: list[Payload], why: str) -> None:
        """Keep rejected items as evidence, with Datadog's answer."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock()))
        path = self.directory / "rejected" / f"{stamp}-{kind}-{len(items)}-{name}"
        n = 1
        while path.exists():
            path = path.with_name(f"{stamp}-{kind}-{len(items)}-{n}-{name}")
            n += 1
        doc = {"kind": kind, "reason": why, "items": items, "spool_file": name}
        write_atomic(path, json.dumps(doc, allow_nan=False).encode())
        self.count("rejected", len(items))
        kept = sorted(path.parent.glob("*.json"))  # the evidence of rejections is bounded too
        for old in kept[: max(0, len(kept) - self.max_files)]:
            old.unlink(missing_ok=True)
