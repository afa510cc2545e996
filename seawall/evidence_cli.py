"""``seawall report``: the claims-and-evidence page from recent evidence files.

Reads ``<state_dir>/evidence/*.json`` (the evidence reporter's files) of the last
``--days`` days, newest ``--runs`` at most; claims come from the config's ``[claims]``,
else from each probe's docstring. Writes a self-contained HTML page and a Markdown file
(rendering: :mod:`seawall.report.html`, :mod:`seawall.report.markdown`). A file that is
not a readable evidence document is skipped and named on stderr, never fatal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from seawall import config as config_module
from seawall.errors import ConfigError
from seawall.report.html import Run, promises, render_html, run_from_document
from seawall.report.markdown import render_markdown


def read_runs(directory: Path, *, since: float, limit: int) -> tuple[list[Run], list[str]]:
    """Evidence files started after ``since`` (newest ``limit``), and the skipped files."""
    runs: list[Run] = []
    skipped: list[str] = []
    for path in sorted(directory.glob("*.json"), reverse=True):  # names start with UTC time
        try:
            run = run_from_document(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            skipped.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        if run.info.started_at < since:
            continue
        runs.append(run)
        if len(runs) >= limit:
            break
    return runs, skipped


def _report(args: argparse.Namespace) -> int:
    config = config_module.load(config_module.locate(args.config, flag="--config"))
    state_dir = Path(args.state_dir or os.environ.get("SEAWALL_STATE_DIR")
                     or config.general.state_dir)
    evidence = Path(args.evidence) if args.evidence else state_dir / "evidence"
    if not evidence.is_dir():
        raise ConfigError(str(evidence), "", "is not a directory of evidence files",
                          "run the probes first, or give --evidence DIR")
    now = time.time()
    runs, skipped = read_runs(evidence, since=now - args.days * 86400, limit=args.runs)
    for line in skipped:
        print(f"seawall report: skipped {line}", file=sys.stderr)
    found = promises(runs, config.claims, history=args.history)
    Path(args.html).write_text(render_html(found, runs, generated_at=now), encoding="utf-8")
    Path(args.markdown).write_text(render_markdown(found, runs, generated_at=now),
                                   encoding="utf-8")
    print(f"{len(found)} promise(s) from {len(runs)} run(s): {args.html}, {args.markdown}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``seawall report``."""
    parser = subparsers.add_parser("report", help="HTML and Markdown claims-and-evidence page")
    parser.add_argument("--config", metavar="PATH", help="config file (for [claims])")
    parser.add_argument("--state-dir", metavar="DIR", help="default: [seawall] state_dir")
    parser.add_argument("--evidence", metavar="DIR", help="default: <state dir>/evidence")
    parser.add_argument("--days", type=float, default=7.0, help="runs of the last N days (7)")
    parser.add_argument("--runs", type=int, default=500, help="at most N newest runs (500)")
    parser.add_argument("--history", type=int, default=30,
                        help="results per check and target in the history strip (30)")
    parser.add_argument("--html", default="seawall-report.html", metavar="PATH")
    parser.add_argument("--markdown", default="seawall-report.md", metavar="PATH")
    parser.set_defaults(func=_report)
