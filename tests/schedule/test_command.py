"""``seawall schedule run --once`` as a real process: signals, exit codes, JSON lines."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from .conftest import FAST_ENV, HANG, QUICK, wait_for, write_probes

SCHEDULE = 'name = "lab"\ncron = "* * * * *"\ntimeout = 50\npaths = ["probes"]\n'
SECRET = "0123456789abcdef-test-api-key"


def start(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    (project / "schedules").mkdir(exist_ok=True)
    (project / "schedules" / "lab.toml").write_text(SCHEDULE)
    command = [sys.executable, "-m", "seawall.cli", "schedule", "run", *args,
               "--schedules", "schedules", "--state-dir", "state"]
    return subprocess.Popen(command, cwd=project, env=env or FAST_ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]  # every line is JSON


def test_sigterm_during_a_run_flushes_partial_results_and_exits_0(project: Path) -> None:
    write_probes(project / "probes", QUICK, HANG)
    env = {**FAST_ENV, "SEAWALL_STOP_GRACE": "0.3", "SEAWALL_KILL_GRACE": "60"}
    proc = start(project, "--once", "lab", env=env)
    wait_for(project / "probes" / "hang.pid")  # the quick probe is done, the next hangs
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    events = lines(out)
    assert [e["event"] for e in events] == ["run_started", "stopping", "run_finished"]
    finished = events[-1]
    assert finished["outcome"] == "error" and finished["reason"] == "stopped"
    assert finished["counts"] == {"pass": 1, "warn": 0, "fail": 0, "error": 0}
    assert finished["complete"] is False
    doc = json.loads((project / str(finished["evidence"])).read_text())
    assert doc["run"]["schedule"] == "lab" and len(doc["results"]) == 1


def test_a_run_error_exits_1_and_never_logs_the_api_key(project: Path) -> None:
    write_probes(project / "probes", QUICK)
    (project / "probes" / "conftest.py").write_text(
        "import os, pytest\n"
        "def pytest_configure(config):\n"
        "    raise pytest.UsageError('rejected key ' + os.environ['DD_API_KEY'])\n"
    )
    proc = start(project, "--once", "lab", env={**FAST_ENV, "DD_API_KEY": SECRET})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert SECRET not in out and SECRET not in err
    [finished] = [e for e in lines(out) if e["event"] == "run_finished"]
    assert finished["reason"] == "usage_error"
    assert finished["detail"] == "ERROR: rejected key [redacted]"
    output = (project / "state" / "runs" / "lab.log").read_text()
    assert "rejected key [redacted]" in output and SECRET not in output


def test_unknown_schedule_name_is_a_usage_error(project: Path) -> None:
    proc = start(project, "--once", "nope")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and out == ""
    assert err == "seawall: --once: no schedule named 'nope' (known: lab)\n"
