"""The lab child lives exactly as long as it should: until close, or its parent's death."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time

import pytest

from seawall.lab import Lab, LabError


def gone(pid: int, wait: float = 10.0) -> bool:
    """True once ``pid`` no longer exists (or is a zombie), polling up to ``wait`` s."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(") ", 1)[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(p) for p in fh.read().split()]


def test_close_kills_the_child_and_removes_its_files() -> None:
    lab = Lab.start(["good13", "ocsp"])
    directory = lab.ca_file.parent
    assert directory.is_dir() and not gone(lab.pid, wait=0)
    assert os.getpgid(lab.pid) == lab.pid  # its own process group
    (s_server,) = children(lab.pid)  # the ocsp case's openssl s_server
    lab.close()
    lab.close()  # idempotent
    assert gone(lab.pid) and gone(s_server)
    assert not directory.exists()
    with pytest.raises(LabError):
        lab.stats()


def test_a_given_directory_is_kept(tmp_path: os.PathLike[str]) -> None:
    with Lab.start(["good13"], directory=tmp_path) as lab:  # type: ignore[arg-type]
        assert lab.ca_file.parent == tmp_path
    assert lab.ca_file.exists()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_child_dies_with_its_parent(how: signal.Signals) -> None:
    script = ("import sys, time\nfrom seawall.lab import Lab\n"
              "lab = Lab.start(['good13', 'ocsp'])\nprint(lab.pid, flush=True)\ntime.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert not gone(child, wait=0)
        (s_server,) = children(child)
        parent.send_signal(how)
        parent.wait()
        assert gone(child) and gone(s_server)
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout:
            parent.stdout.close()


def test_copies_serve_distinct_hosts_under_one_certificate() -> None:
    with Lab.start(["good13", "expired"], copies=3) as lab:
        assert sorted(lab.cases) == ["expired", "expired_2", "expired_3",
                                     "good13", "good13_2", "good13_3"]
        ctx = ssl.create_default_context(cafile=str(lab.ca_file))
        ports = set()
        for name in ("good13", "good13_2", "good13_3"):
            case = lab.cases[name]
            address = lab.overrides[(case.host, 443)]
            ports.add(address)
            with ssl.create_connection(address, timeout=5) as sock, \
                    ctx.wrap_socket(sock, server_hostname=case.host) as tls:
                assert tls.version() == "TLSv1.3"
        assert len(ports) == 3
        assert lab.cases["good13_3"].host == "n3.good13.lab.seawall.test"


def test_unknown_case_is_refused() -> None:
    with pytest.raises(KeyError, match="no_such_case"):
        Lab.start(["no_such_case"])
