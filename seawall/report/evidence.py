"""The evidence file: one JSON document per run, written atomically, kept for audits.

Layout: ``<dir>/<UTC time>-<run id>.json`` with ``run``, ``summary`` and ``results``
(each a CheckResult's JSON). Files older than the retention are removed at the end of
a run. The write is temp file + fsync + rename, so a reader never sees half a file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

from seawall.model import JSON, CheckResult, RunInfo, RunSummary


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it is either wholly there or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def run_document(summary: RunSummary, results: list[CheckResult]) -> dict[str, JSON]:
    """The JSON document of a run (also what the spool keeps)."""
    return {
        "run": dataclasses.asdict(summary.run),
        "summary": {
            "finished_at": summary.finished_at,
            "duration": summary.duration,
            "counts": dict(summary.counts),
            "complete": summary.complete,
        },
        "results": [r.to_json() for r in results],
    }


class EvidenceReporter:
    """Writes the run's evidence file at the end of the run."""

    name = "evidence"

    def __init__(self, directory: Path, retention_days: int, *, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self.directory = directory
        self.retention_days = retention_days
        self.clock = clock
        self.results: list[CheckResult] = []
        self.path: Path | None = None
        self.error = ""

    def start(self, run: RunInfo) -> None:
        """Nothing is written until the run ends."""

    def result(self, result: CheckResult) -> None:
        """Keep the result for the file."""
        self.results.append(result)

    def finish(self, summary: RunSummary) -> None:
        """Write the file, then prune files past the retention."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(summary.run.started_at))
        path = self.directory / f"{stamp}-{summary.run.run_id}.json"
        doc = run_document(summary, self.results)
        try:
            write_atomic(path, json.dumps(doc, indent=1, allow_nan=False).encode())
        except OSError as exc:
            self.error = f"cannot write {path}: {exc.strerror or exc}"
            return
        self.path = path
        self._prune()

    def _prune(self) -> None:
        horizon = self.clock() - self.retention_days * 86400
        for old in self.directory.glob("*.json"):
            try:
                if old.stat().st_mtime < horizon:
                    old.unlink()
            except OSError:
                continue

    def status(self) -> str:
        """Where the evidence went, or why it did not."""
        if self.error:
            return f"NOT WRITTEN: {self.error}"
        return str(self.path) if self.path else "nothing written"
