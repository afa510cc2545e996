"""Scheduler figures: what a scheduled run costs over a plain pytest run, the cost of
due-time computation (catch-up counting is capped at 10,000 missed fires), and the idle
scheduler's CPU use.

Run from the repository root: ``python bench/schedule.py --repeat 5 --idle 20``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seawall.config.reader import Table
from seawall.schedule import spec

PROBE = '''
import time, pytest
from seawall.expect import expect
from seawall.model import Finding, Outcome

@pytest.mark.tls
def test_quick():
    """A trivial promise."""
    expect(Finding(check="tls.quick", target="lab:1", outcome=Outcome.PASS,
                   summary="ok", observed_at=time.time()))
'''
SCHEDULE = 'name = "lab"\ncron = "0 0 1 1 *"\ntimeout = 60\npaths = ["probes"]\n'


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "probes").mkdir()
        (root / "probes" / "test_probe.py").write_text(PROBE)
        (root / "schedules").mkdir()
        (root / "schedules" / "lab.toml").write_text(SCHEDULE)
        env = {**os.environ, "SEAWALL_STATE_DIR": str(root / "state"),
               "SEAWALL_SCHEDULES": str(root / "schedules")}
        plain = [sys.executable, "-m", "pytest", "probes", "-q", "-p", "no:cacheprovider",
                 "--seawall-state-dir", str(root / "state")]
        once = [sys.executable, "-m", "seawall.cli", "schedule", "run", "--once", "lab"]
        p: list[float] = []
        o: list[float] = []
        for _ in range(args.repeat):  # interleaved, so load from others hits both alike
            p.append(timed(plain, root, env))
            o.append(timed(once, root, env))
        print(f"plain pytest run, median of {args.repeat}: {statistics.median(p):.2f} s "
              f"(min {min(p):.2f}, max {max(p):.2f})")
        print(f"seawall schedule run --once, median of {args.repeat}: "
              f"{statistics.median(o):.2f} s (min {min(o):.2f}, max {max(o):.2f})")

        minute = spec.parse(Table({"name": "m", "cron": "* * * * *", "timeout": 30,
                                   "paths": ["probes"]}, source="bench"), cwd=root)
        start = time.perf_counter()
        it = minute.fires_after(0.0)
        for _ in range(10_000):
            next(it)
        print(f"10,000 due times of '* * * * *' (the catch-up counting cap): "
              f"{(time.perf_counter() - start) * 1000:.0f} ms")

        proc = subprocess.Popen([sys.executable, "-m", "seawall.cli", "schedule", "run"],
                                cwd=root, env=env, stdout=subprocess.DEVNULL)
        time.sleep(3)  # past start-up
        before = _cpu(proc.pid)
        time.sleep(args.idle)
        used = _cpu(proc.pid) - before
        proc.terminate()
        proc.wait(30)
        print(f"idle scheduler CPU over {args.idle:.0f} s: {used * 1000:.0f} ms "
              f"({used / args.idle * 100:.3f} %)")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
