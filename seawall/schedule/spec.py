"""Schedule files: ``schedules/*.toml``, one schedule per file, strict keys.

::

    name = "tls"                  # [a-z0-9_-], unique across files
    cron = "*/5 * * * *"          # 5 fields, validated by cronsim (weekday 0 = Sunday)
    timezone = "Europe/Berlin"    # optional IANA zone; default UTC
    timeout = 240                 # hard deadline of a run, seconds, below the period
    jitter = 10                   # optional delay 0..jitter seconds after the due time
    paths = ["probes"]            # pytest paths, relative to the working directory
    markers = "tls"               # optional pytest -m expression
    keywords = ""                 # optional pytest -k expression
    tags = ["tier:1"]             # optional key:value tags, given to the run

cronsim, not APScheduler's crontab reader: APScheduler reads weekday 0 as Monday, cron
(and cronsim) as Sunday. A bad value raises ConfigError naming the file and key.
"""

from __future__ import annotations

import itertools
import math
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from seawall.config.reader import Table
from seawall.errors import ConfigError

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_TAG = re.compile(r"^[a-z][a-z0-9_.\-/]*:[^\s,]+$")
#: Fires looked at to find a schedule's shortest period (a year of hourly fires).
_PERIOD_SAMPLE = 400
_PERIOD_FROM = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """One schedule: when (``cron`` in ``zone``), what (pytest selection), how long."""

    name: str
    cron: str
    zone: tzinfo
    timeout: float
    jitter: float
    paths: tuple[str, ...]
    markers: str
    keywords: str
    tags: tuple[str, ...]
    source: str
    period: float

    def fires_after(self, when: float) -> Iterator[float]:
        """Due times (Unix seconds) strictly after ``when``, in order, forever."""
        start = datetime.fromtimestamp(when, self.zone)
        for fire in CronSim(self.cron, start):
            yield fire.timestamp()

    def next_fire(self, when: float) -> float:
        """The first due time strictly after ``when``."""
        return next(self.fires_after(when))

    def last_fire(self, when: float) -> float:
        """The latest due time at or before ``when``."""
        # whole seconds: cronsim strips microseconds, which would round a reverse start up
        start = datetime.fromtimestamp(math.floor(when) + 1, self.zone)
        return next(iter(CronSim(self.cron, start, reverse=True))).timestamp()

    def pytest_args(self) -> list[str]:
        """The selection part of the child's command line."""
        args = list(self.paths)
        if self.markers:
            args += ["-m", self.markers]
        if self.keywords:
            args += ["-k", self.keywords]
        return args


def _cron(t: Table, zone: tzinfo) -> tuple[str, float]:
    """Validate the cron expression; return it with its shortest period in seconds."""
    expr = t.text("cron")
    fields = expr.split()
    if len(fields) != 5:
        raise t.error(
            "cron", f"{expr!r} has {len(fields)} fields, expected 5",
            "minute hour day-of-month month day-of-week, e.g. '*/5 * * * *'",
        )
    try:
        sim = CronSim(expr, _PERIOD_FROM.astimezone(zone))
        fires = [next(sim).timestamp() for _ in range(_PERIOD_SAMPLE)]
    except CronSimError as exc:
        raise t.error("cron", f"{expr!r}: {str(exc).lower()}",
                      "see crontab(5); weekday 0 and 7 are Sunday") from None
    except StopIteration:  # pragma: no cover - cronsim raises CronSimError instead
        raise t.error("cron", f"{expr!r} never fires") from None
    period = min(b - a for a, b in itertools.pairwise(fires))
    return expr, period


def _zone(t: Table) -> tzinfo:
    name = t.text("timezone", "UTC")
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise t.error("timezone", f"{name!r} is not a known time zone",
                      "use an IANA name like 'UTC' or 'Europe/Berlin'") from None


def parse(t: Table, *, cwd: Path) -> Schedule:
    """Read one schedule file's table. ``cwd`` is where relative ``paths`` must exist."""
    name = t.text("name")
    if not _NAME.match(name):
        raise t.error("name", f"{name!r} is not a schedule name",
                      "use lowercase letters, digits, '-' and '_'")
    zone = _zone(t)
    cron, period = _cron(t, zone)
    timeout = t.number("timeout", minimum=1)
    jitter = t.number("jitter", 0.0, minimum=0)
    if timeout + jitter >= period:
        raise t.error(
            "timeout", f"timeout {timeout:g}s + jitter {jitter:g}s is not below the period "
            f"{period:g}s of {cron!r}", "a run must end before the next one is due",
        )
    paths = t.str_list("paths")
    if not paths:
        raise t.error("paths", "is empty", 'name the probes to run, e.g. paths = ["probes"]')
    for i, path in enumerate(paths):
        if not (cwd / path).exists():
            raise t.error(f"paths[{i}]", f"{path!r} does not exist in {str(cwd)!r}",
                          "paths are relative to the working directory, as for pytest")
    tags = t.str_list("tags", ())
    for i, tag in enumerate(tags):
        if not _TAG.match(tag):
            raise t.error(f"tags[{i}]", f"{tag!r} is not a key:value tag", "e.g. 'tier:1'")
    schedule = Schedule(
        name=name, cron=cron, zone=zone, timeout=timeout, jitter=jitter, paths=paths,
        markers=t.text("markers", ""), keywords=t.text("keywords", ""), tags=tags,
        source=t.source, period=period,
    )
    t.done()
    return schedule


def load_file(path: Path, *, cwd: Path) -> Schedule:
    """Parse one schedule file."""
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(source, "", f"not valid TOML: {exc}",
                          "fix the syntax at the line shown") from None
    return parse(Table(raw, source=source), cwd=cwd)


def load_dir(directory: Path, *, cwd: Path) -> list[Schedule]:
    """Every ``*.toml`` in ``directory``, sorted by name; names must be unique."""
    if not directory.is_dir():
        raise ConfigError(str(directory), "", "is not a directory of schedule files",
                          "give --schedules DIR or set SEAWALL_SCHEDULES")
    schedules: dict[str, Schedule] = {}
    for path in sorted(directory.glob("*.toml")):
        schedule = load_file(path, cwd=cwd)
        if schedule.name in schedules:
            other = schedules[schedule.name].source
            raise ConfigError(str(path), "name", f"{schedule.name!r} is also the name in {other}",
                              "give every schedule its own name")
        schedules[schedule.name] = schedule
    if not schedules:
        raise ConfigError(str(directory), "", "holds no *.toml schedule files",
                          "add one, see schedules/tls.toml")
    return list(schedules.values())
