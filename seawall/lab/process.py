"""The probing side of the lab: start the server child, read its manifest, stop it.

The servers run in a child process (``python -m seawall.lab serve``) in its own process
group, so probes and servers do not share a GIL, as with a real fleet. The child ends
when :meth:`Lab.close` runs (also registered with ``atexit``), when its stdin reaches
EOF (the parent died, however: SIGTERM, SIGKILL, a crash) and, on Linux, by
``PR_SET_PDEATHSIG`` when the parent dies.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from seawall.lab.catalogue import ALL_CASES, LabCase
from seawall.lab.serve import copy_case
from seawall.targets import Overrides

START_TIMEOUT = 60.0


class LabError(RuntimeError):
    """The lab child could not start or stopped answering (a bug or a broken machine,
    not a probe outcome)."""


@dataclass(frozen=True)
class LabServer:
    """One running listener: its case instance ``name``, ``host`` and nominal ``port`` (as
    targets name it), ``scheme`` (``https``, ``http`` or ``tcp``) and the real loopback
    ``address``."""

    name: str
    case: str
    host: str
    scheme: str
    port: int
    address: tuple[str, int]

    @property
    def key(self) -> str:
        """``host:port`` (nominal), the key of :meth:`Lab.stats`."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class LabTrust:
    """The lab PKI's files: ``ca_file`` (the root to trust), ``untrusted_ca_file`` (the
    root probes must not trust) and ``intermediate_file``."""

    ca_file: Path
    untrusted_ca_file: Path
    intermediate_file: Path


class Lab:
    """A running lab; a context manager. Build it with :meth:`start`.

    ``cases``: instance name -> :class:`LabCase` (with ``copies`` > 1, copy k is
    ``<case>_<k>`` on host ``n<k>.<case host>``); ``servers``: every listener;
    ``overrides``: (host, nominal port) -> ("127.0.0.1", real port), for
    :data:`seawall.targets.Overrides`; ``now``: the time the certificates were issued
    against (validity facts in the catalogue are relative to it).
    """

    def __init__(self, process: subprocess.Popen[bytes], manifest: Mapping[str, Any],
                 cases: Mapping[str, LabCase], directory: Path, owns_directory: bool) -> None:
        self._process = process
        self._directory = directory
        self._owns_directory = owns_directory
        self._lock = threading.Lock()
        self._closed = False
        self.pid: int = process.pid
        self.now = datetime.fromisoformat(manifest["now"])
        self.pki = LabTrust(Path(manifest["ca_file"]), Path(manifest["untrusted_ca_file"]),
                            Path(manifest["intermediate_file"]))
        self.cases = dict(cases)
        self.servers = tuple(
            LabServer(s["name"], s["case"], s["host"], s["scheme"], s["nominal_port"],
                      ("127.0.0.1", s["port"])) for s in manifest["servers"])
        self.overrides: Overrides = {(s.host, s.port): s.address for s in self.servers}
        atexit.register(self.close)

    @property
    def ca_file(self) -> Path:
        """The trusted lab root (PEM): what probes trust via ``ca_file``."""
        return self.pki.ca_file

    @property
    def untrusted_ca_file(self) -> Path:
        """The other root (PEM), which signs ``untrusted_root``'s leaf."""
        return self.pki.untrusted_ca_file

    @classmethod
    def start(cls, cases: Sequence[str] | None = None, *, directory: Path | None = None,
              copies: int = 1) -> Lab:
        """Start the servers of ``cases`` (default: every TLS and HTTP case), ``copies``
        of each, keys and certificates in ``directory`` (default: a temporary one,
        removed on close). Raises KeyError for an unknown case, LabError if the child
        does not come up within START_TIMEOUT seconds."""
        names = list(cases) if cases is not None else list(ALL_CASES)
        for name in names:
            if name not in ALL_CASES:
                raise KeyError(f"unknown lab case {name!r}; known: {', '.join(ALL_CASES)}")
        owns = directory is None
        workdir = Path(tempfile.mkdtemp(prefix="seawall-lab-")) if directory is None \
            else Path(directory)
        command = [sys.executable, "-m", "seawall.lab", "serve", "--manifest-out", "-",
                   "--cases", ",".join(names), "--copies", str(copies),
                   "--directory", str(workdir), "--parent-pid", str(os.getpid())]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   start_new_session=True)
        try:
            manifest = json.loads(_read_line(process, START_TIMEOUT))
        except BaseException:
            _kill(process)
            if owns:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        instances: dict[str, LabCase] = {}
        for name in names:
            for k in range(1, copies + 1):
                case = copy_case(ALL_CASES[name], k, copies)
                instances[case.name] = case
        # OFFSITE, served with redirect_offsite, is in ``servers``/``overrides`` only.
        return cls(process, manifest, instances, workdir, owns)

    def server(self, name: str, scheme: str = "https") -> LabServer:
        """The listener of case instance ``name`` for ``scheme`` (``https`` also finds a
        ``tcp`` case such as ``hanging``). Raises KeyError."""
        for s in self.servers:
            if s.name == name and (s.scheme == scheme or (scheme == "https" and s.scheme == "tcp")):
                return s
        raise KeyError(f"no {scheme} server for lab case {name!r}")

    def _ask(self, command: str) -> dict[str, Any]:
        with self._lock:
            if self._closed or self._process.stdin is None:
                raise LabError("the lab is closed")
            self._process.stdin.write(command.encode() + b"\n")
            self._process.stdin.flush()
            reply: dict[str, Any] = json.loads(_read_line(self._process, 30.0))
            return reply

    def stats(self) -> dict[str, dict[str, int]]:
        """Counters per server key (``host:nominal_port``): ``accepted`` TCP
        connections, completed ``handshakes``, ``failed`` handshakes."""
        stats: dict[str, dict[str, int]] = self._ask("stats")["stats"]
        return stats

    def reset_stats(self) -> None:
        """Zero the counters of every server."""
        self._ask("reset")

    def close(self) -> None:
        """Stop the child (its whole process group) and remove the temporary files.
        Idempotent; safe from ``atexit``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _kill(self._process)
        if self._owns_directory:
            shutil.rmtree(self._directory, ignore_errors=True)
        atexit.unregister(self.close)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """One line from the child's stdout within ``timeout`` seconds, else LabError."""
    stdout: IO[bytes] | None = process.stdout
    assert stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(stdout, selectors.EVENT_READ)
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise LabError(f"lab child {process.pid} did not answer within {timeout:.0f} s")
            # The child writes one line per request, so reading ahead never eats a
            # second line; big reads keep a 100 kB manifest to a few syscalls.
            chunk = os.read(stdout.fileno(), 1 << 16)
            if not chunk:
                raise LabError(f"lab child {process.pid} exited (status {process.poll()})")
            buf += chunk
    return buf


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's process group, reap it and close its pipes."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
