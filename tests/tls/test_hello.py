"""Hand-built ClientHellos: what OpenSSL 3 cannot offer (SSLv3, RC4/3DES/export) and
OCSP stapling. Bad cases come from a real loopback server that answers every hello
with a fixed first flight (OpenSSL 3 cannot serve SSLv3 or RC4 at all); good cases are
the lab's real servers."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace

import pytest
import trio

from seawall.config.tls import BUILTIN_POLICIES
from seawall.model import Outcome
from seawall.tls import hello as raw
from seawall.tls import rules
from seawall.tls.facts import TlsFacts

DEFAULT = BUILTIN_POLICIES["default"]


def record(kind: int, version: int, body: bytes) -> bytes:
    return bytes([kind]) + version.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def handshake(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def server_hello(version: int, cipher: int) -> bytes:
    body = (version.to_bytes(2, "big") + os.urandom(32) + b"\x00"
            + cipher.to_bytes(2, "big") + b"\x00")
    return handshake(2, body)


@pytest.fixture
def flight_server() -> Iterator[tuple[list[bytes], tuple[str, int]]]:
    """A loopback server answering each connection with the next canned flight."""
    flights: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(4096)
                    conn.sendall(flights.pop(0) if flights else b"")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield flights, listener.getsockname()
    stop.set()
    thread.join()
    listener.close()


def ask(address: tuple[str, int], hello: bytes) -> raw.HelloAnswer:
    async def run() -> raw.HelloAnswer:
        with trio.fail_after(5):
            return await raw.ask(address, hello)
    return trio.run(run)


def test_a_server_accepting_sslv3_is_caught(flight_server, lab_facts: Mapping[str, TlsFacts],
                                            now: float) -> None:
    flights, address = flight_server
    flights.append(record(22, 0x0300, server_hello(0x0300, 0x000A) + handshake(14, b"")))
    raw.prepare()
    answer = ask(address, raw.client_hello(raw.SSL3, raw.SSL3_SUITES, "a.example"))
    attempt = raw.judge("SSLv3", raw.SSL3, answer)
    assert attempt.accepted is True
    assert attempt.cipher == "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    facts = replace(lab_facts["good12"], attempts=(attempt, *lab_facts["good12"].attempts[1:]))
    finding = rules.versions(facts, DEFAULT, now)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "protocol_too_old")
    assert "accepts SSLv3" in finding.summary


def test_a_server_choosing_rc4_is_caught(flight_server, lab_facts: Mapping[str, TlsFacts],
                                         now: float) -> None:
    flights, address = flight_server
    flights.append(record(22, 0x0303, server_hello(0x0303, 0x0005) + handshake(14, b"")))
    raw.prepare()
    answer = ask(address, raw.client_hello(raw.TLS12, raw.weak_suites(), "a.example"))
    legacy = raw.judge("TLSv1.2", None, answer)
    assert (legacy.accepted, legacy.cipher) == (True, "TLS_RSA_WITH_RC4_128_SHA")
    finding = rules.cipher(replace(lab_facts["good12"], legacy_ciphers=legacy), DEFAULT, now)
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "weak_cipher")
    assert "TLS_RSA_WITH_RC4_128_SHA" in finding.summary


def test_stapled_ocsp_is_seen(flight_server) -> None:
    flights, address = flight_server
    status = handshake(22, b"\x01" + (5).to_bytes(3, "big") + b"ocsp!")
    flights.append(record(22, 0x0303, server_hello(0x0303, 0xC02B) + status
                          + handshake(14, b"")))
    raw.prepare()
    answer = ask(address, raw.client_hello(raw.TLS12, raw.GOOD_SUITES, "a.example",
                                           status_request=True))
    assert answer.stapled and answer.version == raw.TLS12


def test_an_alert_and_a_close_are_refusals(flight_server) -> None:
    flights, address = flight_server
    flights += [record(21, 0x0300, b"\x02\x28"), b""]
    raw.prepare()
    hello = raw.client_hello(raw.SSL3, raw.SSL3_SUITES, "a.example")
    alert = raw.judge("SSLv3", raw.SSL3, ask(address, hello))
    assert (alert.accepted, alert.reason, alert.detail) == (False, "handshake_failed", "alert 40")
    closed = raw.judge("SSLv3", raw.SSL3, ask(address, hello))
    assert (closed.accepted, closed.reason) == (False, "closed_in_handshake")


def test_lab_servers_refuse_sslv3_and_legacy_suites(lab_facts: Mapping[str, TlsFacts],
                                                    now: float) -> None:
    for name in ("good12", "legacy", "weak_cipher", "only12"):
        facts = lab_facts[name]
        sslv3 = facts.attempt("SSLv3")
        assert sslv3 is not None and sslv3.via == "hello" and sslv3.accepted is False, name
        assert facts.legacy_ciphers is not None and facts.legacy_ciphers.accepted is False
    assert lab_facts["good13"].legacy_ciphers is None  # no TLS <= 1.2: nothing to ask


def test_ocsp_stapling_is_recorded_honestly(lab_facts: Mapping[str, TlsFacts]) -> None:
    assert lab_facts["good12"].ocsp_stapled is False  # TLS 1.2 ServerHello, no status
    assert lab_facts["good13"].ocsp_stapled is None  # TLS 1.3 only: we cannot see it


def test_a_stapling_lab_server_is_seen(lab_facts: Mapping[str, TlsFacts]) -> None:
    if "ocsp" not in lab_facts:
        pytest.skip("this lab has no stapling case yet")
    assert lab_facts["ocsp"].ocsp_stapled is True


def test_a_legacy_probe_we_could_not_finish_is_an_error(lab_facts: Mapping[str, TlsFacts],
                                                        now: float) -> None:
    unsure = replace(lab_facts["good12"].legacy_ciphers, accepted=None, reason="timeout")
    finding = rules.cipher(replace(lab_facts["good12"], legacy_ciphers=unsure), DEFAULT, now)
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "timeout")
