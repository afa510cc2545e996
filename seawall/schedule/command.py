"""``seawall schedule check | run [--once NAME] | health``.

- ``check``: load every schedule file, print each schedule and its next fire times;
  a bad file exits 2 with one line naming file, key and fix.
- ``run``: the scheduler (the container's ``CMD``): JSON lines on stdout; SIGTERM or
  SIGINT stops it cleanly with exit 0. ``--once NAME`` runs one schedule now, as the
  loop would (exit 0 when the run finished, with or without broken promises, or was
  skipped because another run holds the schedule; 1 for a run error).
- ``health``: the container's ``HEALTHCHECK``: exit 0 when the scheduler ticked
  recently, 1 otherwise.

Where things are: ``--schedules DIR`` (``$SEAWALL_SCHEDULES``, default ``./schedules``),
the state dir from ``--state-dir`` (``$SEAWALL_STATE_DIR``, else ``[seawall] state_dir``
of the config file that pytest would use).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import seawall
from seawall import config as config_module
from seawall.config import Config
from seawall.schedule import spec
from seawall.schedule import state as state_file
from seawall.schedule.clock import SystemClock
from seawall.schedule.events import CountingMetrics, EventLog, SchedulerMetrics
from seawall.schedule.runner import Scheduler


def scheduler_metrics(config: Config, state_dir: Path, *,
                      environ: Mapping[str, str] | None = None,
                      schedules: Sequence[spec.Schedule] = ()) -> SchedulerMetrics:
    """The scheduler's own metrics sink: Datadog-backed when ``DD_API_KEY`` (spooled,
    replayed, as the reporter does) or a DogStatsD Agent (``DD_AGENT_HOST``,
    ``DD_DOGSTATSD_URL``) is set, else in-memory counts only. Its tags are the ones
    the runs' reporters use: env, service, version, team, location, schedule, plus
    each schedule's ``tags``."""
    from seawall.report import scheduler_metrics as sink

    env = os.environ if environ is None else environ
    dd = config.datadog
    general = config.general
    base = {"env": env.get("DD_ENV") or dd.env or general.env, "service": dd.service,
            "version": seawall.__version__, "team": dd.team or general.team,
            "location": dd.location or general.location}
    metrics = sink.create(
        state_dir=state_dir, environ=env, base=base,
        schedule_tags={s.name: s.tags for s in schedules}, site=dd.site,
        host=dd.host_name or f"seawall-{dd.location or 'local'}",  # as the reporter's
        timeout=dd.timeout, flush_budget=min(dd.delivery_budget, sink.FLUSH_BUDGET),
        ca_file=dd.ca_file, spool_max_files=dd.spool_max_files,
        spool_max_bytes=dd.spool_max_bytes,
    )
    return CountingMetrics() if metrics is None else metrics


def _schedules_dir(args: argparse.Namespace) -> Path:
    return Path(args.schedules or os.environ.get("SEAWALL_SCHEDULES") or "schedules")


def _config(args: argparse.Namespace) -> Config:
    return config_module.load(config_module.locate(args.config, flag="--config"))


def _state_dir(args: argparse.Namespace, config: Config | None = None) -> Path:
    explicit = args.state_dir or os.environ.get("SEAWALL_STATE_DIR")
    if explicit:
        return Path(explicit)
    return (config or _config(args)).general.state_dir


def _check(args: argparse.Namespace) -> int:
    schedules = spec.load_dir(_schedules_dir(args), cwd=Path.cwd())
    now = time.time()
    for s in schedules:
        fires = s.fires_after(now)
        nxt = ", ".join(_utc(next(fires)) for _ in range(args.count))
        zone = "" if str(s.zone) == "UTC" else f" ({s.zone})"
        print(f"{s.name}: {s.cron!r}{zone} timeout {s.timeout:g}s, "
              f"pytest {' '.join(s.pytest_args())}; next: {nxt}")
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _run(args: argparse.Namespace) -> int:
    config = _config(args)
    state_dir = _state_dir(args, config)
    schedules = spec.load_dir(_schedules_dir(args), cwd=Path.cwd())
    if args.once and args.once not in {s.name for s in schedules}:
        known = ", ".join(s.name for s in schedules)
        print(f"seawall: --once: no schedule named {args.once!r} (known: {known})",
              file=sys.stderr)
        return 2
    stop = threading.Event()
    _stop_on_signals(stop)
    scheduler = Scheduler(
        schedules, state_dir=state_dir, cwd=Path.cwd(), clock=SystemClock(),
        log=EventLog(), metrics=scheduler_metrics(config, state_dir, schedules=schedules),
        stop=stop,
        stop_grace=float(os.environ.get("SEAWALL_STOP_GRACE", "5")),
        kill_grace=float(os.environ.get("SEAWALL_KILL_GRACE", "3")),
    )
    if not args.once:
        return scheduler.run()
    result = scheduler.run_now(args.once)
    return 0 if result is None or result.finished or result.reason == "stopped" else 1


def _health(args: argparse.Namespace) -> int:
    ok, line = state_file.health(_state_dir(args), max_age=args.max_age)
    print(line)
    return 0 if ok else 1


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", help="config file (as pytest finds it)")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="state dir (default: $SEAWALL_STATE_DIR or [seawall] state_dir)")


def register(subparsers: Any) -> None:
    """Add ``seawall schedule ...``."""
    group = subparsers.add_parser("schedule", help="run probes on their schedules")
    sub = group.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="validate schedules/*.toml, print next fire times")
    check.add_argument("--count", type=int, default=3, help="fire times to show (default 3)")
    run = sub.add_parser("run", help="the scheduler: run every schedule when due, forever")
    run.add_argument("--once", metavar="NAME", help="run schedule NAME now, then exit")
    _common(run)
    health = sub.add_parser("health", help="exit 0 if the scheduler ticked recently")
    health.add_argument("--max-age", type=float, default=state_file.HEALTH_MAX_AGE,
                        metavar="SECONDS", help="oldest acceptable heartbeat (default 120)")
    _common(health)
    for parser in (check, run):
        parser.add_argument("--schedules", metavar="DIR",
                            help="schedule files (default: $SEAWALL_SCHEDULES or ./schedules)")
    check.set_defaults(func=_check)
    run.set_defaults(func=_run)
    health.set_defaults(func=_health)


def _utc(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(when))
