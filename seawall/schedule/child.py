"""One run of a schedule: a child ``python -m pytest`` process with a hard deadline.

The child runs in its own session (process group), so crashes, leaks and hangs stay
there, and a deadline can end all of it: SIGTERM to the group (the plugin turns it into
KeyboardInterrupt, so the run tears its labs down and writes its partial evidence),
then SIGKILL after ``kill_grace`` seconds. The whole environment passes through to the
child (unlike cron), plus ``SEAWALL_SCHEDULE`` and ``SEAWALL_TAGS``.

pytest's exit codes are mapped explicitly (:data:`EXIT_CODES`): 0 and 1 are finished
runs (1 = promises broken, which is what Seawall is for); 2-5 are run errors.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seawall.schedule.events import redact, secret_values
from seawall.schedule.spec import Schedule

#: pytest exit code -> (outcome, reason). ``passed``/``broken`` are finished runs.
EXIT_CODES: dict[int, tuple[str, str | None]] = {
    0: ("passed", None),
    1: ("broken", None),
    2: ("error", "interrupted"),
    3: ("error", "internal_error"),
    4: ("error", "usage_error"),
    5: ("error", "no_tests_collected"),
}
FINISHED = ("passed", "broken")


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """How one run ended. ``outcome`` is passed, broken (a finished run with broken
    promises) or error (``reason`` says why); ``counts`` and ``complete`` come from
    the run's evidence file, when it wrote one."""

    schedule: str
    run_id: str
    outcome: str
    reason: str | None
    exit_code: int | None
    duration: float
    evidence: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    complete: bool = False
    detail: str = ""
    pytest_run_id: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the run finished and handed its results over (pass or broken)."""
        return self.outcome in FINISHED

    def fields(self) -> dict[str, Any]:
        """The JSON-log fields of this result."""
        data: dict[str, Any] = {
            "schedule": self.schedule, "run_id": self.run_id, "outcome": self.outcome,
            "reason": self.reason, "exit_code": self.exit_code,
            "duration": round(self.duration, 3), "counts": dict(self.counts),
            "complete": self.complete, "evidence": self.evidence,
            "pytest_run_id": self.pytest_run_id,
        }
        if self.detail:
            data["detail"] = self.detail
        return data


def classify_exit(code: int | None, *, timed_out: bool, stopped: bool) -> tuple[str, str | None]:
    """The (outcome, reason) of a child's exit status."""
    if timed_out:
        return "error", "timeout"
    if stopped:
        return "error", "stopped"
    if code is None:
        return "error", "unknown_exit"
    if code < 0:
        return "error", f"killed_by_{signal.Signals(-code).name.lower()}"
    return EXIT_CODES.get(code, ("error", f"exit_{code}"))


class ChildRun:
    """A started child run; call :meth:`poll` until it returns a :class:`RunResult`."""

    def __init__(self, schedule: Schedule, *, state_dir: Path, cwd: Path,
                 env: Mapping[str, str] | None = None, kill_grace: float = 5.0,
                 python: str = sys.executable) -> None:
        self.schedule = schedule
        self.state_dir = state_dir
        self.kill_grace = kill_grace
        self.run_id = uuid.uuid4().hex[:12]
        self.started_wall = time.time()
        self.started = time.monotonic()
        self.deadline = self.started + schedule.timeout
        self.log_path = state_dir / "runs" / f"{schedule.name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._term_at: float | None = None
        self._killed = False
        self._timed_out = False
        self._stopped = False
        child_env = dict(os.environ if env is None else env)
        self.env = child_env
        child_env["SEAWALL_SCHEDULE"] = schedule.name
        child_env["SEAWALL_RUN_ID"] = self.run_id
        child_env["SEAWALL_TAGS"] = ",".join(schedule.tags)
        command = [
            python, "-m", "pytest", *schedule.pytest_args(), "-q", "-p", "no:cacheprovider",
            "--seawall-schedule", schedule.name, "--seawall-state-dir", str(state_dir),
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def terminate(self, *, stopped: bool = False) -> None:
        """Begin ending the run now: SIGTERM to its group, SIGKILL after ``kill_grace``."""
        if self._term_at is None:
            self._stopped = stopped and not self._timed_out
            self._term_at = time.monotonic()
            self._signal(signal.SIGTERM)

    def poll(self) -> RunResult | None:
        """Enforce the deadline; return the result once the child has exited."""
        now = time.monotonic()
        code = self.process.poll()
        if code is None:
            if now >= self.deadline and self._term_at is None:
                self._timed_out = True
                self.terminate()
            elif (self._term_at is not None and not self._killed
                  and now >= self._term_at + self.kill_grace):
                self._killed = True
                self._signal(signal.SIGKILL)
            return None
        self._signal(signal.SIGKILL)  # leftovers the child left in its group
        redact_file(self.log_path, secret_values(self.env))
        return self._result(code, now)

    def wait(self, poll: float = 0.05) -> RunResult:
        """Block until the run ends (deadline enforced)."""
        while (result := self.poll()) is None:
            time.sleep(poll)
        return result

    def _result(self, code: int, now: float) -> RunResult:
        outcome, reason = classify_exit(code, timed_out=self._timed_out, stopped=self._stopped)
        found = find_evidence(self.state_dir / "evidence", self.schedule.name, self.started_wall)
        summary = (found or {}).get("summary", {})
        return RunResult(
            schedule=self.schedule.name, run_id=self.run_id, outcome=outcome, reason=reason,
            exit_code=code, duration=now - self.started,
            evidence=found.get("path") if found else None,
            counts=summary.get("counts", {}), complete=bool(summary.get("complete", False)),
            detail="" if outcome in FINISHED else last_line(self.log_path),
            pytest_run_id=found["run"].get("run_id") if found else None,
        )


def find_evidence(directory: Path, schedule: str, since: float) -> dict[str, Any] | None:
    """The newest evidence document of ``schedule`` started at or after ``since``."""
    best: dict[str, Any] | None = None
    for path in directory.glob("*.json"):
        try:
            if path.stat().st_mtime < since - 1:
                continue
            doc = json.loads(path.read_text())
            run = doc["run"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if run.get("schedule") != schedule or run.get("started_at", 0) < since - 1:
            continue
        if best is None or run["started_at"] > best["run"]["started_at"]:
            best = {**doc, "path": str(path)}
    return best


def redact_file(path: Path, secrets: list[str]) -> None:
    """Remove secret values from a finished run's output file (it is kept for people)."""
    if not secrets:
        return
    try:
        text = path.read_text(errors="replace")
        if any(secret in text for secret in secrets):
            path.write_text(redact(text, secrets))
    except OSError:
        return


def last_line(path: Path, limit: int = 300) -> str:
    """The last non-empty line of a run's output (for the log of a failed run)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            lines = [x for x in fh.read().decode(errors="replace").splitlines() if x.strip()]
    except OSError:
        return ""
    return lines[-1][:limit] if lines else ""
