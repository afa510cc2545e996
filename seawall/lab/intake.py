"""A local Datadog intake for tests: real HTTPS on loopback, strict, with faults.

:class:`DatadogIntake` serves ``/api/v1/series``, ``/api/v1/check_run``,
``/api/v1/events``, ``/api/v1/validate`` and ``/api/v1/monitor*`` over HTTPS with a
certificate from the lab PKI (the ``datadog`` client only retries over https). It

- checks the ``DD-API-KEY`` header (403 otherwise; monitors also need
  ``DD-APPLICATION-KEY``);
- validates every payload strictly (:mod:`seawall.lab.intake_rules`: metric and tag
  grammar, status 0..3, required host, JSON without NaN, sizes, time windows) and
  answers 400 with the reasons, recording the rejection in ``rejected``;
- records what it accepted (``series``, ``checks``, ``events``, ``monitors``) and every
  request (``requests``);
- scans every byte it receives for the API key outside its header (``key_leaks``);
- injects faults on demand (:meth:`fault`): ``close`` (read, then close without an
  answer), ``delay`` (hold past the client's timeout, then close), and status answers
  ``500``/``503``/``413``/``429``/``400``/``403``; "refused" is :func:`closed_port_url`
  and "unknown CA" is a client trusting another root (``pki.untrusted_ca_file``).

A request that got a fault or no answer is never recorded as accepted: what the
intake holds is what Datadog would have.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from seawall.lab.intake_rules import handle
from seawall.lab.pki import LabPki

STATUS_FAULTS = {"400": 400, "403": 403, "413": 413, "429": 429, "500": 500, "503": 503}
FAULTS = ("close", "delay", *STATUS_FAULTS)


@dataclass
class Fault:
    """A fault to inject ``times`` times on requests whose path starts with ``path``."""

    kind: str
    times: int
    path: str = "/api/v1/"
    delay: float = 0.0


@dataclass
class Seen:
    """One request as received: method, path, answer status (None: no answer)."""

    method: str
    path: str
    status: int | None
    items: int = 0
    fault: str = ""


@dataclass
class _State:
    series: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    monitors: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    key_leaks: list[str] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)


def closed_port_url() -> str:
    """An https URL on loopback where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"https://localhost:{port}"


class DatadogIntake:
    """The intake; use as a context manager. ``url`` is what ``DD_SITE`` takes."""

    def __init__(self, directory: Path, *, api_key: str, app_key: str = "",
                 max_payload_bytes: int = 3_200_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.pki = LabPki(directory / "pki")
        self.ca_file: Path = self.pki.root_ca_file
        self.api_key = api_key
        self.app_key = app_key
        self.max_payload_bytes = max_payload_bytes
        self.clock = clock
        self.state = _State()
        self.lock = threading.Lock()
        creds = self.pki.issue(["localhost"])
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(creds.chain_file, creds.key_file)
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.intake = self
        self.port: int = self.server.server_address[1]
        self.url = f"https://localhost:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.05})

    def __enter__(self) -> DatadogIntake:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def __repr__(self) -> str:
        return f"DatadogIntake({self.url!r})"

    # --- what tests look at ---------------------------------------------------------

    @property
    def series(self) -> list[dict[str, Any]]:
        """Accepted series items (one per metric/point list)."""
        return list(self.state.series)

    @property
    def checks(self) -> list[dict[str, Any]]:
        """Accepted service checks."""
        return list(self.state.checks)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Accepted events."""
        return list(self.state.events)

    @property
    def monitors(self) -> dict[int, dict[str, Any]]:
        """Monitors as stored, by id."""
        return dict(self.state.monitors)

    @property
    def requests(self) -> list[Seen]:
        """Every request received, in order."""
        return list(self.state.requests)

    @property
    def rejected(self) -> list[str]:
        """Why each invalid payload was rejected (empty when everything was valid)."""
        return list(self.state.rejected)

    @property
    def key_leaks(self) -> list[str]:
        """Where the API key was seen outside the DD-API-KEY header."""
        return list(self.state.key_leaks)

    def fault(self, kind: str, times: int = 1, *, path: str = "/api/v1/",
              delay: float = 0.0) -> None:
        """Inject ``kind`` (one of :data:`FAULTS`) on the next ``times`` matching requests."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {FAULTS}")
        with self.lock:
            self.state.faults.append(Fault(kind, times, path, delay))

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self.lock:
            self.state.faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.state.faults:
                if path.startswith(fault.path) and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.state.faults.remove(fault)
                    return fault
        return None

    def scan(self, where: str, data: bytes | str) -> None:
        """Record a leak if the API key (or the app key) appears in ``data``."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        for secret in (self.api_key, self.app_key):
            if secret and secret in text:
                with self.lock:
                    self.state.key_leaks.append(where)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    intake: DatadogIntake

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        # One segment per answer: without this, delayed ACK adds 40 ms to each request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The handshake runs in the handler thread (first read), not in the accept loop.
        return self.intake.context.wrap_socket(sock, server_side=True,
                                               do_handshake_on_connect=False), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (timeouts, faults) is not an error."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``intake.requests`` instead."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        intake = self.server.intake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        headers = "\n".join(f"{k}: {v}" for k, v in self.headers.items()
                            if k.lower() not in ("dd-api-key", "dd-application-key"))
        intake.scan(f"{method} {path} request line/headers", f"{self.path}\n{headers}")
        intake.scan(f"{method} {path} body", body)
        seen = Seen(method, path, None)
        with intake.lock:
            intake.state.requests.append(seen)
        fault = intake._take_fault(path)
        if fault is not None:
            seen.fault = fault.kind
            if fault.kind in ("close", "delay"):
                time.sleep(fault.delay)
                self.close_connection = True
                self.connection.close()
                return
            seen.status = STATUS_FAULTS[fault.kind]
            self._answer(seen.status, {"errors": [f"injected {fault.kind}"]})
            return
        status, answer = handle(intake, method, path, query, self.headers, body, seen)
        seen.status = status
        self._answer(status, answer)

    def _answer(self, status: int, answer: Any) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
