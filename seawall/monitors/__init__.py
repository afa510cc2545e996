"""``seawall monitors validate|diff|push``: the alerts in ``monitors/`` as code.

- ``validate``: every file passes :mod:`seawall.monitors.rules` (names Seawall emits,
  the API's rules); with ``DD_API_KEY`` and ``DD_APP_KEY`` set, also the API's own
  ``/api/v1/monitor/validate``. Exit 1 listing every problem.
- ``diff``: what ``push`` would do, per monitor (``create``, ``update: fields``,
  ``unchanged``). Needs the keys.
- ``push``: create or update each monitor, found by its ``seawall_monitor:<id>`` tag
  (idempotent). Needs ``DD_APP_KEY``: run it from a workstation or deploy job, never
  from the probe cron container.

Keys come only from the environment; the site from ``DD_SITE`` or ``[datadog] site``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from seawall import config as config_module
from seawall.errors import ConfigError
from seawall.monitors import rules
from seawall.monitors.sync import MonitorFile, MonitorsApi, changed_fields, load_dir
from seawall.report.datadog import site_url


def register(subparsers: Any) -> None:
    """Add the ``monitors`` command group to the ``seawall`` parser."""
    group = subparsers.add_parser("monitors", help="Datadog monitors as code")
    sub = group.add_subparsers(dest="monitors_command", required=True, metavar="ACTION")
    for name, func, text in (
        ("validate", _validate, "check monitor files (and with keys, the API's validator)"),
        ("diff", _diff, "show what push would change"),
        ("push", _push, "create or update monitors, found by their seawall_monitor tag"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--config", metavar="PATH", help="config file (for [datadog])")
        cmd.add_argument("--dir", metavar="DIR", help="monitor files (default: monitors_dir)")
        cmd.set_defaults(func=func)


def _setup(args: argparse.Namespace) -> tuple[list[MonitorFile], Any]:
    loaded = config_module.load(config_module.locate(args.config, flag="--config"))
    directory = Path(args.dir) if args.dir else loaded.datadog.monitors_dir
    return load_dir(directory), loaded.datadog


def _api(dd: Any, *, required: bool) -> MonitorsApi | None:
    api_key, app_key = os.environ.get("DD_API_KEY", ""), os.environ.get("DD_APP_KEY", "")
    if not (api_key and app_key):
        if required:
            raise ConfigError("environment", "DD_API_KEY/DD_APP_KEY", "not set",
                              "monitors need both an API key and an application key; "
                              "set them where you deploy monitors, not in the probe container")
        return None
    url = site_url(os.environ.get("DD_SITE", "") or dd.site)
    return MonitorsApi(api_key=api_key, app_key=app_key, api_host=url, ca_file=dd.ca_file,
                       timeout=dd.timeout)


def _local_problems(files: list[MonitorFile]) -> list[str]:
    return [f"{f.path}: {p}" for f in files for p in rules.problems(f.stem, f.body)]


def _validate(args: argparse.Namespace) -> int:
    files, dd = _setup(args)
    found = _local_problems(files)
    api = _api(dd, required=False) if not found else None
    if api is not None:
        found += [f"{f.path}: Datadog: {p}" for f in files for p in api.validate(f.body)]
    for line in found:
        print(line)
    if found:
        return 1
    where = "and by the API" if api is not None else "locally (no DD_APP_KEY: API not asked)"
    print(f"{len(files)} monitors valid {where}")
    return 0


def _plan(files: list[MonitorFile], api: MonitorsApi) -> list[tuple[MonitorFile, str, Any]]:
    plan = []
    for f in files:
        existing = api.find(f.stem)
        if len(existing) > 1:
            ids = ", ".join(str(m["id"]) for m in existing)
            raise ConfigError(str(f.path), "tags", f"{len(existing)} monitors carry "
                              f"{rules.ID_TAG}:{f.stem} (ids {ids})",
                              "delete the copies so push knows which one to update")
        if not existing:
            plan.append((f, "create", None))
            continue
        fields = changed_fields(f.body, existing[0])
        action = f"update: {', '.join(fields)}" if fields else "unchanged"
        plan.append((f, action, existing[0]["id"]))
    return plan


def _checked(args: argparse.Namespace) -> tuple[list[MonitorFile], MonitorsApi] | None:
    files, dd = _setup(args)
    found = _local_problems(files)
    for line in found:
        print(line)
    api = _api(dd, required=True)
    return None if found or api is None else (files, api)


def _diff(args: argparse.Namespace) -> int:
    checked = _checked(args)
    if checked is None:
        return 1
    for f, action, monitor_id in _plan(*checked):
        print(f"{f.stem}: {action}" + (f" (id {monitor_id})" if monitor_id else ""))
    return 0


def _push(args: argparse.Namespace) -> int:
    checked = _checked(args)
    if checked is None:
        return 1
    files, api = checked
    for f, action, monitor_id in _plan(files, api):
        if action == "create":
            monitor_id = api.create(f.body)
            print(f"{f.stem}: created (id {monitor_id})")
        elif action.startswith("update"):
            api.update(monitor_id, f.body)
            print(f"{f.stem}: updated {action.removeprefix('update: ')} (id {monitor_id})")
        else:
            print(f"{f.stem}: unchanged (id {monitor_id})")
    return 0
