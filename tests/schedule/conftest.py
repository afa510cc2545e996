"""Helpers for the scheduler tests: tiny probe folders and schedules in tmp dirs.

The probes are real pytest files run by real child processes (not the real suites):
each records a Finding through ``expect`` so the child's evidence file is real."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from seawall.config.reader import Table
from seawall.schedule import spec

PROBE_HEADER = '''
import os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from seawall.expect import expect
from seawall.model import Finding, Outcome

HERE = Path(__file__).parent

def finding(outcome="pass", check="tls.quick"):
    return Finding(check=check, target="lab:1", outcome=Outcome(outcome),
                   reason=None if outcome == "pass" else "expired",
                   summary=f"lab:1 is {outcome}", observed_at=time.time())
'''

QUICK = '''
@pytest.mark.tls
def test_quick():
    """The quick promise holds."""
    expect(finding())
'''

BROKEN = '''
@pytest.mark.tls
def test_broken():
    """The broken promise."""
    expect(finding("fail", "tls.broken"))
'''

HANG = '''
@pytest.mark.tls
def test_hang():
    """A probe that hangs (with a grandchild) until it is killed."""
    if os.environ.get("PROBE_IGNORE_TERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    grandchild = subprocess.Popen(["sleep", "300"])
    (HERE / "grandchild.pid").write_text(str(grandchild.pid))
    (HERE / "hang.pid").write_text(str(os.getpid()))  # last: "now hanging"
    while True:
        time.sleep(0.05)
'''

WAIT_FOR_RELEASE = '''
@pytest.mark.tls
def test_wait():
    """A probe that runs until the test releases it."""
    (HERE / "started").touch()
    for _ in range(2000):
        if (HERE / "release").exists():
            break
        time.sleep(0.01)
    expect(finding())
'''

#: Child pytest starts ~1 s faster without the hypothesis plugin (not used by probes).
FAST_ENV = {**os.environ, "PYTEST_ADDOPTS": "-p no:hypothesispytest -p no:randomly"}


def write_probes(directory: Path, *bodies: str) -> Path:
    """A probe folder with one test file holding ``bodies``."""
    directory.mkdir(parents=True, exist_ok=True)
    text = PROBE_HEADER + "".join(bodies)
    (directory / "test_probe.py").write_text(textwrap.dedent(text))
    return directory


def make_schedule(cwd: Path, **values: object) -> spec.Schedule:
    """A Schedule parsed from ``values`` exactly as a file's table would be."""
    raw = {"name": "lab", "cron": "* * * * *", "timeout": 50, "paths": ["probes"]}
    raw.update(values)
    return spec.parse(Table(raw, source="test.toml"), cwd=cwd)


def wait_for(path: Path, limit: float = 120.0) -> None:
    """Wait for a probe's marker file (generous: child start-up is slow under load)."""
    end = time.monotonic() + limit
    while not path.exists():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.02)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory with a probes/ folder (filled by each test)."""
    (tmp_path / "probes").mkdir()
    return tmp_path
