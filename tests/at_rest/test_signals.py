"""SIGTERM in the middle of a run (the scheduler's deadline, docker stop) tears the lab
down: the real plugin, a real lab, a real signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from seawall.at_rest import stack
from seawall.lab import storage

HOLD = '''
import time
import pytest

@pytest.mark.at_rest
def test_hold(data_path, facts):
    print("ready", flush=True)
    time.sleep(120)
'''


@pytest.mark.privileged
def test_sigterm_tears_the_lab_down(tmp_path: Path) -> None:
    (tmp_path / "test_hold.py").write_text(HOLD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env["SEAWALL_CONFIG"] = ""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:randomly", "-p", "no:xdist",
         "-k", "plain", str(tmp_path / "test_hold.py"), f"--seawall-state-dir={tmp_path}/s",
         "--rootdir", str(tmp_path)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "ready" in line:
                break
        assert any("ready" in line for line in lines), "".join(lines)
        assert any(m.mountpoint == f"{storage.ROOT}/ext4" for m in stack.read_mountinfo())
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert not any(m.mountpoint.startswith(storage.ROOT) for m in stack.read_mountinfo())
    images = Path(storage.ROOT, "images")
    assert not list(images.glob(f"seawall-{proc.pid}-*.img"))
    backing = [p.read_text() for p in Path("/sys/block").glob("loop*/loop/backing_file")]
    assert not any(f"seawall-{proc.pid}-" in b for b in backing)
