"""The ``ocsp`` case: ``openssl s_server`` stapling a "good" OCSP response.

Python's ``ssl`` cannot staple on the server side (no ``SSL_CTX_set_tlsext_status_cb``),
so this one case is served by the ``openssl`` CLI with ``-status_file``. It serves one
connection at a time (s_server is iterative): fine for a single probe target. The
process is a child of the lab child, in the lab's process group (killed with it) and
with ``PR_SET_PDEATHSIG`` (killed if the lab child dies first).
"""

from __future__ import annotations

import ctypes
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
from pathlib import Path

from seawall.lab.pki import Credentials

_ACCEPT = re.compile(rb"ACCEPT 127\.0\.0\.1:(\d+)")


def _die_with_parent() -> None:  # runs in the forked child, before exec
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start(creds: Credentials, ocsp_der: Path, *, min_version: str = "TLSv1.2",
          timeout: float = 10.0) -> tuple[subprocess.Popen[bytes], int]:
    """Start s_server on 127.0.0.1 and an ephemeral port with ``creds`` (chain sent) and
    ``ocsp_der`` stapled; returns the process and its port. Raises RuntimeError when
    ``openssl`` is missing or does not announce its port within ``timeout`` s."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the ocsp lab case needs the openssl CLI (Debian: openssl)")
    command = [openssl, "s_server", "-accept", "127.0.0.1:0", "-www",
               "-cert", str(creds.cert_file), "-key", str(creds.key_file),
               "-cert_chain", str(creds.chain_file), "-status_file", str(ocsp_der),
               "-min_protocol", min_version]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    assert process.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline and sel.select(deadline - time.monotonic()):
            chunk = os.read(process.stdout.fileno(), 4096)
            seen += chunk
            match = _ACCEPT.search(seen)  # "ACCEPT 127.0.0.1:PORT" comes first
            if match:
                process.stdout.close()
                return process, int(match.group(1))
            if not chunk:
                break
    process.kill()
    process.wait()
    process.stdout.close()
    raise RuntimeError(f"openssl s_server did not start within {timeout:g} s: "
                       f"{seen.decode(errors='replace')[-300:]}")
