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


@pytest.mark.privileged
def test_sweep_after_sigkill(tmp_path: Path) -> None:
    """A run killed with SIGKILL cannot clean up; the next lab start sweeps its mounts,
    loop device, image and gocryptfs away."""
    root = str(tmp_path / "lab")
    code = (
        "import contextlib, sys, time\n"
        "from seawall.lab import storage\n"
        "resources = contextlib.ExitStack()\n"
        f"storage.start(resources, {root!r}, size_mib=32)\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        assert any(m.mountpoint == f"{root}/ext4" for m in stack.read_mountinfo())
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    swept = storage.sweep(root)
    assert len(swept) == 1 and f"seawall-{proc.pid}-" in swept[0]
    assert not any(m.mountpoint.startswith(root) for m in stack.read_mountinfo())
    backing = [p.read_text() for p in Path("/sys/block").glob("loop*/loop/backing_file")]
    assert not any(f"seawall-{proc.pid}-" in b for b in backing)
    leftover = subprocess.run(["pgrep", "-f", f"gocryptfs.*{root}"], check=False,
                              capture_output=True, text=True)
    if leftover.stdout.strip():  # gocryptfs exits once unmounted; give it a moment
        for pid in leftover.stdout.split():
            subprocess.run(["timeout", "10", "tail", f"--pid={pid}", "-f", "/dev/null"],
                           check=False)
    assert subprocess.run(["pgrep", "-f", f"gocryptfs.*{root}"], check=False).returncode == 1
