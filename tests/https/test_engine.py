"""The https engine: classify, Host header and URL handling, deadlines, concurrency."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator

import httpx
import pytest
import trio

from seawall.config.https import DEFAULT_POLICY
from seawall.https import engine
from seawall.targets import WebService


def test_classify_finds_the_certificate_error_under_the_wrappers():
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    try:
        try:
            raise verify
        except ssl.SSLError as inner:
            raise trio.BrokenResourceError from inner
    except trio.BrokenResourceError as broken:
        wrapped = httpx.ConnectError("connect failed")
        wrapped.__cause__ = broken
    assert engine.classify(wrapped) == "cert_invalid"


@pytest.mark.parametrize(("exc", "reason"), [
    (ConnectionRefusedError(111, "refused"), "refused"),
    (ConnectionResetError(104, "reset"), "reset"),
    (socket.gaierror(-2, "Name or service not known"), "dns_failure"),
    (OSError(113, "No route to host"), "unreachable"),
    (PermissionError(1, "Operation not permitted"), "local_policy"),
    (httpx.ReadTimeout("timed out"), "timeout"),
    (trio.TooSlowError(), "timeout"),
    (ssl.SSLError(1, "wrong version number"), "tls_failed"),
    (httpx.RemoteProtocolError("Server disconnected"), "http_protocol_error"),
    (ValueError("surprise"), "unknown_error"),
])
def test_classify(exc, reason):
    wrapper = httpx.ConnectError("wrapped")
    wrapper.__cause__ = exc
    assert engine.classify(exc) == reason
    assert engine.classify(wrapper) == reason


@pytest.mark.parametrize(("url", "header"), [
    ("http://a.test/", "a.test"),
    ("http://a.test:80/", "a.test"),
    ("http://a.test:8080/x", "a.test:8080"),
    ("https://a.test:443/", "a.test"),
    ("https://a.test:8443/", "a.test:8443"),
    ("http://[::1]:8080/", "[::1]:8080"),
])
def test_host_header(url, header):
    assert engine.host_header(httpx.URL(url)) == header


def test_resolve_location():
    base = httpx.URL("https://a.test/x/y")
    assert str(engine.resolve_location(base, "/z")) == "https://a.test/z"
    assert str(engine.resolve_location(base, "//b.test/")) == "https://b.test/"
    assert str(engine.resolve_location(base, "http://a.test/")) == "http://a.test/"
    assert engine.resolve_location(base, "ftp://a.test/") is None


class RecordingServer:
    """A plain HTTP server on loopback that records each request's bytes and answers
    301 to https://<host>/ (one thread, real sockets)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                conn.sendall(b"HTTP/1.1 301 Moved\r\nLocation: https://svc.test/\r\n"
                             b"Content-Length: 0\r\nConnection: close\r\n\r\n")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.sock.close()
        self.thread.join(2)


@pytest.fixture
def recording() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.close()


def test_host_header_and_path_stay_nominal_through_overrides(recording):
    svc = WebService(host="svc.test", http_port=8080, path="/login?next=1")
    overrides = {("svc.test", 8080): ("127.0.0.1", recording.port)}
    facts = engine.gather_sync([svc], {svc.id: DEFAULT_POLICY}, overrides=overrides,
                               only_overrides=True, timeout=2)[svc.id]
    request = recording.requests[0].decode()
    assert request.startswith("GET /login?next=1 HTTP/1.1\r\n")
    assert "\r\nHost: svc.test:8080\r\n" in request
    assert facts.chain[0].status == 301
    assert facts.chain[0].dialled == f"127.0.0.1:{recording.port}"
    # the https hop has no override: not dialled in only_overrides mode
    assert facts.chain[1].reason == "local_policy"


def test_many_services_are_bounded_and_each_gets_its_facts(lab):
    """Forty services through a concurrency of 4: every one gets facts (no lost task)."""
    from seawall.lab import HTTP_CASES

    services = [WebService(host=HTTP_CASES["redirect_ok"].host, path=f"/{i}",
                           ca_file=lab.ca_file, name=str(i)) for i in range(40)]
    # one id per service: distinct https ports mapped to the same listener
    services = [WebService(host=s.host, https_port=10000 + i, path=s.path, ca_file=s.ca_file)
                for i, s in enumerate(services)]
    host = services[0].host
    overrides = dict(lab.overrides)
    for s in services:
        overrides[host, s.https_port] = lab.overrides[host, 443]
    facts = engine.gather_sync(services, {s.id: DEFAULT_POLICY for s in services},
                               overrides=overrides, only_overrides=True, concurrency=4)
    assert sorted(facts) == sorted(s.id for s in services)
    assert all(f.direct is not None and f.direct.status == 200 for f in facts.values())


def test_unloadable_ca_file_is_an_error_for_its_services_only(tmp_path, lab):
    from seawall.https import rules
    from seawall.lab import HTTP_CASES
    from seawall.model import Outcome

    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    host = HTTP_CASES["redirect_ok"].host
    broken = WebService(host=host, ca_file=bad)
    fine = WebService(host=host, https_port=8443, ca_file=lab.ca_file)
    overrides = {**lab.overrides, (host, 8443): lab.overrides[host, 443]}
    facts = engine.gather_sync([broken, fine], {broken.id: DEFAULT_POLICY,
                                                fine.id: DEFAULT_POLICY},
                               overrides=overrides, only_overrides=True)
    finding = rules.hsts(facts[broken.id], DEFAULT_POLICY)
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "local_policy")
    assert "cannot load ca_file" in finding.summary
    assert facts[fine.id].direct.status == 200
