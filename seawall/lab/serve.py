"""The lab child process: build the catalogue's servers, print a manifest, serve.

Run as ``python -m seawall.lab serve --manifest-out - [--cases a,b] [--copies N]``. The
first stdout line is the JSON manifest (CA files, and per server its case, host,
nominal and real port). Then stdin is a control channel: ``stats`` answers one JSON
line of per-server counters, ``reset`` zeroes them; EOF on stdin (the parent is gone
or closed the lab) ends the process. On Linux the child also asks for SIGKILL when its
parent dies (``PR_SET_PDEATHSIG``), so it never outlives the probing process.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import ssl
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from seawall.lab import stapling
from seawall.lab.catalogue import ALL_CASES, OFFSITE, LabCase
from seawall.lab.pki import Credentials, LabPki
from seawall.lab.servers import Listener, Responder, ServerLoop, bind_listener

_VERSIONS = {"TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
             "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}


def credentials(case: LabCase, pki: LabPki, names: Sequence[str]) -> Credentials:
    """A leaf for ``names`` with the certificate facts of ``case``."""
    now = pki.now
    return pki.issue(names, key=case.key, signature_hash=case.signature_hash,
                     not_before=now + timedelta(days=case.valid_from_days),
                     not_after=now + timedelta(days=case.valid_until_days),
                     issuer=case.issuer, send_intermediate=case.sends_intermediate)


def server_context(case: LabCase, creds: Credentials) -> ssl.SSLContext:
    """The server SSLContext of ``case`` serving ``creds``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions = [_VERSIONS[v] for v in case.versions]
    ctx.minimum_version, ctx.maximum_version = min(versions), max(versions)
    if case.ciphers:
        ctx.set_ciphers(case.ciphers)  # before loading: a security level gates the key
    if case.alpn:
        ctx.set_alpn_protocols(list(case.alpn))
    ctx.load_cert_chain(creds.chain_file, creds.key_file)
    return ctx


def _responder(status: int | None, location: str | None, hsts: str | None) -> Responder:
    headers: list[tuple[str, str]] = []
    if location:
        headers.append(("Location", location))
    if hsts:
        headers.append(("Strict-Transport-Security", hsts))
    answer = (status or 200, headers)
    return lambda _path: answer


def build(names: Sequence[str], pki: LabPki, copies: int = 1
          ) -> tuple[list[Listener], list[dict[str, Any]]]:
    """Listeners and manifest entries for cases ``names`` (``copies`` of each: copy k > 1
    is named ``<case>_<k>`` with host ``n<k>.<case host>``; its certificate is shared
    and also names ``*.<case host>``)."""
    cases = [ALL_CASES[n] for n in names]
    if "redirect_offsite" in names:
        cases.append(OFFSITE)
    listeners: list[Listener] = []
    entries: list[dict[str, Any]] = []

    def add(case: LabCase, name: str, host: str, scheme: str, nominal: int,
            listener: Listener) -> None:
        listeners.append(listener)
        entries.append({"name": name, "case": case.name, "host": host, "scheme": scheme,
                        "nominal_port": nominal, "port": listener.port, "key": listener.key})

    for case in cases:
        ctx = creds = None
        if case.has_certificate:
            cert_names = list(case.cert_names)
            if copies > 1:
                cert_names += [f"*.{n}" for n in case.cert_names]
            creds = credentials(case, pki, cert_names)
            ctx = server_context(case, creds)
        for k in range(1, copies + 1):
            name = case.name if k == 1 else f"{case.name}_{k}"
            host = case.host if k == 1 else f"n{k}.{case.host}"
            key = f"{host}:{case.port}"
            if case.ocsp_stapled and creds is not None:
                _, port = stapling.start(creds, pki.ocsp_response(creds),
                                         min_version=case.versions[0])
                lst = Listener(key, "external", None, external_port=port)
            elif case.listener == "tls":
                lst = bind_listener(key, "tls", context=ctx,
                                    responder=_responder(200, None, None))
            elif case.listener == "https":
                lst = bind_listener(key, "tls", context=ctx, responder=_responder(
                    case.https_status, case.https_location, case.hsts))
                plain_key = f"{host}:80"
                if case.http_port is None:
                    plain = bind_listener(plain_key, "closed")
                else:
                    plain = bind_listener(plain_key, "http", responder=_responder(
                        case.http_status, case.http_location, None))
                add(case, name, host, "http", 80, plain)
            else:
                lst = bind_listener(key, case.listener)
            add(case, name, host, "https" if ctx else "tcp", case.port, lst)
    return listeners, entries


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent_pid and os.getppid() != parent_pid:  # the parent died before prctl
        os._exit(0)


def serve(names: Sequence[str], directory: Path, *, copies: int = 1, parent_pid: int = 0,
          out: TextIO = sys.stdout, control: TextIO = sys.stdin) -> None:
    """Build the lab in ``directory``, write the manifest line to ``out``, serve until
    ``control`` reaches EOF (see the module docstring)."""
    _die_with_parent(parent_pid)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    pki = LabPki(directory)
    listeners, entries = build(names, pki, copies)
    loop = ServerLoop(listeners)
    manifest = {"pid": os.getpid(), "now": pki.now.isoformat(), "directory": str(directory),
                "ca_file": str(pki.root_ca_file), "untrusted_ca_file": str(pki.untrusted_ca_file),
                "intermediate_file": str(pki.intermediate_file), "servers": entries}
    out.write(json.dumps(manifest) + "\n")
    out.flush()
    fd = control.fileno()
    pending = b""

    def on_control() -> None:
        nonlocal pending
        chunk = os.read(fd, 4096)
        if not chunk:
            loop.stop()
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            command = line.decode().strip()
            if command == "stats":
                reply: dict[str, Any] = {"stats": loop.stats()}
            elif command == "reset":
                loop.reset_stats()
                reply = {"ok": True}
            else:
                reply = {"error": f"unknown command {command!r}"}
            out.write(json.dumps(reply) + "\n")
            out.flush()

    loop.watch(fd, on_control)
    loop.run()


def copy_case(case: LabCase, k: int, copies: int) -> LabCase:
    """The catalogue entry of copy ``k`` of ``copies`` of ``case``, as :func:`build`
    serves it (its name, host and certificate names)."""
    if copies == 1:
        return case
    cert_names = case.cert_names + tuple(f"*.{n}" for n in case.cert_names)
    if k == 1:
        return replace(case, cert_names=cert_names)
    return replace(case, name=f"{case.name}_{k}", host=f"n{k}.{case.host}",
                   cert_names=cert_names)
