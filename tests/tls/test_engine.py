"""The engine against real servers: deadlines, bounded concurrency, handshake counts,
local refusals, mTLS, and the reasons classify() gives."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from seawall.lab import Lab, LabPki
from seawall.targets import Endpoint
from seawall.tls import engine, transport
from seawall.tls.facts import TlsFacts

from .conftest import lab_endpoint


def gather_one(endpoint: Endpoint, lab: Lab | None = None, timeout: float = 2.0,
               ) -> TlsFacts:
    overrides = lab.overrides if lab else {}
    return engine.gather([endpoint], timeout=timeout, concurrency=4, overrides=overrides,
                         system_trust=False)[endpoint.id]


def test_hanging_server_is_a_timeout_and_the_run_goes_on(lab: Lab) -> None:
    hanging, good = lab_endpoint(lab, "hanging"), lab_endpoint(lab, "good13")
    facts = engine.gather([hanging, good], timeout=0.3, concurrency=4,
                          overrides=lab.overrides, system_trust=False)
    assert facts[hanging.id].error == "timeout"
    assert facts[hanging.id].error_detail == "no TLS handshake within 0.3 s"
    assert facts[good.id].error is None
    assert facts[good.id].version == "TLSv1.3"


def test_in_flight_targets_are_bounded_by_concurrency() -> None:
    with Lab.start(["good12"], copies=12) as fleet:
        targets = [Endpoint(host=c.host, port=443, ca_file=fleet.ca_file)
                   for c in fleet.cases.values()]
        stats = engine.EngineStats()
        facts = engine.gather(targets, timeout=5.0, concurrency=3,
                              overrides=fleet.overrides, system_trust=False, stats=stats)
    assert len(facts) == 12
    assert all(f.error is None and f.chain and f.chain.status == "trusted"
               for f in facts.values())
    assert stats.max_in_flight == 3
    assert stats.in_flight == 0


def test_handshakes_per_target_are_few(lab_facts: object, lab_stats: engine.EngineStats) -> None:
    # The main handshake, then descending caps: a refusal of TLS 1.0..(best-1) ends it.
    counts = {t.split(".")[0]: n for t, n in lab_stats.per_target.items()}
    assert counts["good13"] == 2  # TLS 1.3, then 1.0-1.2 refused
    assert counts["good12"] == 3  # TLS 1.3, 1.0-1.2 gives 1.2, then 1.0-1.1 refused
    assert counts["only12"] == 2  # TLS 1.2 (1.3 refused by negotiation), 1.0-1.1 refused
    assert counts["legacy"] == 4  # TLS 1.3, then 1.2, 1.1, 1.0 each accepted
    assert max(counts.values()) <= 4


# Server-counted (the lab counts accepted TCP connections and completed handshakes):
# 1 main handshake + descending caps + raw hellos (SSLv3 always; legacy suites and OCSP
# only when TLS 1.2 is accepted). Before descending caps: 5 and 7 connections.
SERVER_COUNTS = {"good13": (3, 1), "good12": (6, 2)}


@pytest.mark.parametrize("case", sorted(SERVER_COUNTS))
def test_connections_per_target_counted_by_the_server(lab: Lab, case: str) -> None:
    endpoint = lab_endpoint(lab, case)
    lab.reset_stats()
    facts = gather_one(endpoint, lab)
    counted = lab.stats()[f"{endpoint.host}:443"]
    assert facts.error is None
    assert (counted["accepted"], counted["handshakes"]) == SERVER_COUNTS[case]
    assert counted["accepted"] == facts.handshakes + facts.hellos
    # Same verdicts as one pinned handshake per version gave.
    expected = ("TLSv1.3",) if case == "good13" else ("TLSv1.2", "TLSv1.3")
    assert facts.accepted == expected
    assert all(a.accepted is False for a in facts.attempts if a.version not in expected)


def test_our_own_refusal_is_local_policy_not_a_server_refusal(lab: Lab) -> None:
    # OpenSSL 3 cannot offer SSLv3 at all: the ClientHello is never sent.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.warns(DeprecationWarning):
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.SSLv3
    address = lab.overrides[(lab_endpoint(lab, "legacy").host, 443)]

    async def attempt() -> BaseException:
        with pytest.raises(ssl.SSLError) as info:
            await transport._handshake(address, ctx, "legacy.lab.seawall.test", want_chain=False)
        return info.value

    reason, detail = engine.classify(trio.run(attempt))
    assert reason == "local_policy"
    assert "NO_PROTOCOLS_AVAILABLE" in detail


def test_unloadable_client_certificate_is_local_policy(lab: Lab, tmp_path: Path) -> None:
    junk = tmp_path / "client.pem"
    junk.write_text("not a certificate\n")
    endpoint = Endpoint(host="good12.lab.seawall.test", port=443, client_cert=junk,
                        client_key=junk)
    facts = gather_one(endpoint, lab)
    assert facts.error == "local_policy"
    assert facts.error_detail.startswith(f"cannot load client certificate {junk}")


def test_dns_failure(lab: Lab) -> None:
    # The only part not run for real: this machine may not send DNS queries anywhere
    # but loopback, so trio's documented resolver hook answers "no such name".
    class NoSuchName:
        async def getaddrinfo(self, *args: object) -> object:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        async def getnameinfo(self, *args: object) -> object:
            raise NotImplementedError

    async def run() -> dict[str, TlsFacts]:
        previous = trio.socket.set_custom_hostname_resolver(NoSuchName())
        try:
            return await engine.probe_all([Endpoint(host="nowhere.example", port=443)],
                                          budget=2.0, concurrency=1, system_trust=False)
        finally:
            trio.socket.set_custom_hostname_resolver(previous)

    facts = trio.run(run)["nowhere.example:443"]
    assert facts.error == "dns_failure"


# --- mTLS: a real server that requires a client certificate ------------------------------

def self_signed_client(directory: Path) -> tuple[Path, Path]:
    """A self-signed client certificate (the lab PKI issues server certificates only)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "seawall client")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "client.pem", directory / "client.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@contextlib.contextmanager
def serving(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[int]:
    """A loopback TCP server calling ``handle(conn, stop)`` in a thread per connection;
    yields its port, and stops (``stop`` set, listener closed) on exit."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.fixture(scope="module")
def mtls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, LabPki]]:
    pki = LabPki(tmp_path_factory.mktemp("mtls"))
    server = pki.issue(["mtls.lab.seawall.test"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(server.chain_file, server.key_file)
    client_cert, _ = self_signed_client(pki.directory)
    ctx.load_verify_locations(client_cert)
    ctx.verify_mode = ssl.CERT_REQUIRED
    # TLS 1.2: the server's verdict on the client certificate arrives in the handshake
    # (in TLS 1.3 it comes after the client's handshake has completed).
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(2)
            with ctx.wrap_socket(conn, server_side=True):
                pass

    with serving(handle) as port:
        yield port, pki


def test_mtls_client_certificate_is_presented(mtls_server: tuple[int, LabPki],
                                             ) -> None:
    port, pki = mtls_server
    client_cert, client_key = pki.directory / "client.pem", pki.directory / "client.key"
    base = dict(host="127.0.0.1", port=port, sni="mtls.lab.seawall.test",
                ca_file=pki.root_ca_file)
    without = gather_one(Endpoint(**base))  # type: ignore[arg-type]
    assert without.error == "handshake_failed"
    facts = gather_one(Endpoint(**base, client_cert=client_cert,  # type: ignore[arg-type]
                                client_key=client_key))
    assert facts.error is None
    assert facts.version == "TLSv1.2"
    assert facts.chain is not None and facts.chain.status == "trusted"
    assert facts.chain.hostname_matches


def test_a_crash_on_one_target_is_an_error_there_only(lab: Lab) -> None:
    good = lab_endpoint(lab, "good13")
    # The stdlib refuses this SNI (idna: empty label): not a reason classify() knows.
    broken = Endpoint(host=good.host, port=443, sni=".lab.seawall.test")
    facts = engine.gather([broken, good], timeout=2.0, concurrency=4,
                          overrides=lab.overrides, system_trust=False)
    assert facts[broken.id].error == "probe_crashed"
    assert facts[broken.id].error_detail.startswith("UnicodeError: encoding with 'idna'")
    assert facts[good.id].error is None


# --- descending caps: a timeout is never a refusal ----------------------------------------

def offers_tls13(record: bytes) -> bool:
    """True when the ClientHello in ``record`` has supported_versions with TLS 1.3."""
    pos = 5 + 4 + 2 + 32  # record header, handshake header, version, random
    pos += 1 + record[pos]  # session id
    pos += 2 + int.from_bytes(record[pos:pos + 2], "big")  # cipher suites
    pos += 1 + record[pos]  # compression methods
    end = pos + 2 + int.from_bytes(record[pos:pos + 2], "big")
    pos += 2
    while pos + 4 <= end:
        kind, size = int.from_bytes(record[pos:pos + 2], "big"), int.from_bytes(
            record[pos + 2:pos + 4], "big")
        if kind == 43:  # supported_versions (RFC 8446 4.2.1)
            return b"\x03\x04" in record[pos + 5:pos + 4 + size]
        pos += 4 + size
    return False


@pytest.fixture(scope="module")
def silent_below_13(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, LabPki]]:
    """Completes TLS 1.3 handshakes; to a hello without TLS 1.3 it never answers."""
    pki = LabPki(tmp_path_factory.mktemp("silent"))
    server = pki.issue(["silent.lab.seawall.test"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(server.chain_file, server.key_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            conn.settimeout(5)
            record = b""
            while len(record) < 5 or len(record) < 5 + int.from_bytes(record[3:5], "big"):
                record = conn.recv(16384, socket.MSG_PEEK)
                if not record:
                    return
            if offers_tls13(record):
                with contextlib.suppress(OSError), ctx.wrap_socket(conn, server_side=True):
                    pass
                return
            while not stop.is_set() and conn.recv(1024, socket.MSG_PEEK):  # hold it open
                time.sleep(0.05)

    with serving(handle) as port:
        yield port, pki


def test_a_silent_older_version_is_a_timeout_not_a_refusal(
        silent_below_13: tuple[int, LabPki]) -> None:
    port, pki = silent_below_13
    facts = gather_one(Endpoint(host="127.0.0.1", port=port, sni="silent.lab.seawall.test",
                                ca_file=pki.root_ca_file), timeout=0.5)
    assert facts.error is None
    assert facts.version == "TLSv1.3"
    for version in ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2"):
        attempt = facts.attempt(version)
        assert attempt is not None
        assert (attempt.accepted, attempt.reason) == (None, "timeout"), attempt
    assert facts.accepted == ("TLSv1.3",)
