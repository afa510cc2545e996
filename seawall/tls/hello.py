"""Hand-built ClientHellos (scapy's TLS layer) for what the local OpenSSL cannot offer.

OpenSSL 3 cannot send an SSLv3 ClientHello nor offer RC4, 3DES, export or NULL suites
(the stdlib refuses before sending: ``local_policy``). Here scapy builds those hellos,
we send them over a plain trio TCP stream and judge the server by its first flight:
its ServerHello (version, chosen suite), an alert, or a close. We never complete such a
handshake; reading the ServerHello is enough to know what it accepts.

A TLS 1.2 hello with ``status_request`` (RFC 6066 8) also shows OCSP stapling, which the
stdlib has no client API for: a stapling server sends a CertificateStatus message
(handshake type 22) in clear before ServerHelloDone.

The ServerHello flight is parsed by hand (record and handshake headers): a few dozen
bytes, no need to run scapy's dissectors on every target.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import os
import socket
from dataclasses import dataclass
from typing import Any

import trio  # type: ignore[import-untyped,unused-ignore]  # trio 0.22: no py.typed

from seawall.tls.facts import Attempt, TlsReason

SSL3, TLS12 = 0x0300, 0x0303
_HANDSHAKE, _ALERT = 22, 21
_SERVER_HELLO, _CERTIFICATE_STATUS, _SERVER_HELLO_DONE = 2, 22, 14
_MAX_FLIGHT = 65536
_WEAK_MARKS = ("RC4", "DES", "EXPORT", "NULL", "anon")
# What an SSLv3 client of old offered (RFC 6101 appendix A.6 names).
SSL3_SUITES = (0x0035, 0x002F, 0x000A, 0x0005, 0x0004, 0x0039, 0x0033, 0x0016)
# Modern TLS 1.2 suites (ECDHE/DHE with AES-GCM and ChaCha20, then static RSA) for the
# OCSP question: the server must accept the hello for us to see its flight.
GOOD_SUITES = (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0x009E, 0x009F,
                0xC009, 0xC013, 0xC00A, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035)


@dataclass(frozen=True, kw_only=True)
class HelloAnswer:
    """The server's first flight to a hand-built hello: ``version``/``cipher`` of its
    ServerHello (None when it sent none), ``alert`` (its description code, when it
    refused with one), ``closed`` (it closed without a ServerHello), ``stapled`` (it
    sent a CertificateStatus), ``not_tls`` (the bytes were not TLS records)."""

    version: int | None = None
    cipher: int | None = None
    cipher_name: str = ""
    alert: int | None = None
    closed: bool = False
    stapled: bool = False
    not_tls: bool = False


@functools.cache
def _scapy() -> Any:
    """scapy's TLS layer, imported once and only when a raw hello is needed (~1 s)."""
    from scapy.layers.tls import extensions, handshake, record
    from scapy.layers.tls.crypto import suites

    return extensions, handshake, record, suites


def prepare() -> None:
    """Import scapy and build the templates now (blocking), not inside a deadline."""
    for suites in (SSL3_SUITES, weak_suites(), GOOD_SUITES):
        client_hello(TLS12, suites, "", status_request=suites is GOOD_SUITES)
    client_hello(SSL3, SSL3_SUITES, "")


def suite_name(code: int) -> str:
    """IANA-style name of a cipher suite (``TLS_RSA_WITH_RC4_128_SHA``)."""
    names: dict[int, str] = _scapy()[3]._tls_cipher_suites
    return names.get(code, f"0x{code:04X}")


@functools.cache
def weak_suites() -> tuple[int, ...]:
    """Every RC4, DES/3DES, export, NULL and anonymous suite scapy knows (no SCSVs)."""
    names: dict[int, str] = _scapy()[3]._tls_cipher_suites
    return tuple(code for code, name in sorted(names.items())
                 if code not in (0x0000, 0x00FF, 0x5600) and code < 0xFF00
                 and any(mark in name for mark in _WEAK_MARKS))


def client_hello(version: int, suites: tuple[int, ...], server_name: str,
                 *, status_request: bool = False) -> bytes:
    """A ClientHello record for ``version`` offering ``suites``, with SNI for a DNS name
    (extensions are left out of SSLv3 hellos, as SSLv3 clients did) and a fresh random.

    scapy builds one template per (version, suites, status_request); the SNI and the
    random are spliced in here: building each hello with scapy cost ~5 ms of CPU, 3x
    the rest of the probe (measured with cProfile over 200 lab endpoints)."""
    template = bytearray(_template(version, suites, status_request))
    template[11:43] = os.urandom(32)  # record 5 + handshake 4 + version 2
    if version == SSL3 or not _is_dns_name(server_name):
        return bytes(template)
    name = server_name.encode("idna")
    entry = b"\x00" + len(name).to_bytes(2, "big") + name
    sni = b"\x00\x00" + (len(entry) + 2).to_bytes(2, "big") + len(entry).to_bytes(2, "big") + entry
    pos = 43
    pos += 1 + template[pos]  # session id
    pos += 2 + int.from_bytes(template[pos:pos + 2], "big")  # cipher suites
    pos += 1 + template[pos]  # compression methods
    ext_len = int.from_bytes(template[pos:pos + 2], "big") + len(sni)
    body = bytes(template[9:pos]) + ext_len.to_bytes(2, "big") + sni + bytes(template[pos + 2:])
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    return bytes(template[:3]) + len(message).to_bytes(2, "big") + message


def _is_dns_name(name: str) -> bool:
    """SNI carries DNS names only, never IP literals (RFC 6066 3)."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return bool(name)
    return False


@functools.cache
def _template(version: int, suites: tuple[int, ...], status_request: bool) -> bytes:
    extensions, handshake, record, _ = _scapy()
    ext = []
    if version > SSL3:
        ext += [extensions.TLS_Ext_SupportedGroups(groups=[29, 23, 24, 25]),
                extensions.TLS_Ext_SupportedPointFormat(ecpl=[0]),
                extensions.TLS_Ext_SignatureAlgorithms(sig_algs=[
                    0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501, 0x0201, 0x0203]),
                extensions.TLS_Ext_RenegotiationInfo()]
        if status_request:
            ext.append(extensions.TLS_Ext_CSR(stype=1, req=extensions.OCSPStatusRequest()))
    hello = handshake.TLSClientHello(version=version, ciphers=list(suites), comp=[0],
                                     ext=ext or None)
    # Record version 0x0301 for TLS hellos: the most compatible choice (RFC 8446 5.1).
    data = bytes(record.TLS(version=min(version, 0x0301), msg=[hello]))
    return data


def parse_flight(data: bytes, closed: bool) -> HelloAnswer:
    """What the server said in ``data`` (its first bytes), ``closed`` if it then hung up."""
    handshake = b""
    pos = 0
    while pos + 5 <= len(data):
        kind, length = data[pos], int.from_bytes(data[pos + 3:pos + 5], "big")
        if kind not in (20, 21, 22, 23) or data[pos + 1] != 3:
            return HelloAnswer(not_tls=True)
        body = data[pos + 5:pos + 5 + length]
        if kind == _ALERT and len(body) >= 2 and not handshake:
            return HelloAnswer(alert=body[1])
        if kind == _HANDSHAKE:
            handshake += body
        pos += 5 + length
    if data[:1] and data[0] not in (20, 21, 22, 23):
        return HelloAnswer(not_tls=True)
    version = cipher = None
    stapled = False
    hpos = 0
    while hpos + 4 <= len(handshake):
        kind, length = handshake[hpos], int.from_bytes(handshake[hpos + 1:hpos + 4], "big")
        body = handshake[hpos + 4:hpos + 4 + length]
        if kind == _SERVER_HELLO and len(body) >= 35:
            version = int.from_bytes(body[0:2], "big")
            sid = body[34]
            cipher = int.from_bytes(body[35 + sid:37 + sid], "big")
        elif kind == _CERTIFICATE_STATUS:
            stapled = True
        hpos += 4 + length
    if version is None:
        return HelloAnswer(closed=True)
    return HelloAnswer(version=version, cipher=cipher, stapled=stapled,
                       cipher_name=suite_name(cipher) if cipher is not None else "")


def _flight_complete(data: bytes) -> bool:
    """True once the bytes hold an alert or ServerHelloDone (or are not TLS at all)."""
    if data[:1] and data[0] not in (20, 21, 22, 23):
        return True
    if data[:1] == bytes([_ALERT]):
        return True
    handshake = b""
    pos = 0
    while pos + 5 <= len(data):
        length = int.from_bytes(data[pos + 3:pos + 5], "big")
        if pos + 5 + length > len(data):
            break
        if data[pos] == _HANDSHAKE:
            handshake += data[pos + 5:pos + 5 + length]
        pos += 5 + length
    hpos = 0
    while hpos + 4 <= len(handshake):
        if handshake[hpos] == _SERVER_HELLO_DONE:
            return True
        if handshake[hpos] == _SERVER_HELLO and len(handshake) > hpos + 6 \
                and handshake[hpos + 4:hpos + 6] == b"\x03\x04":
            return True
        hpos += 4 + int.from_bytes(handshake[hpos + 1:hpos + 4], "big")
    return len(data) >= _MAX_FLIGHT


async def connect(address: tuple[str, int]) -> socket.socket:
    """A connected non-blocking stdlib TCP socket to a numeric ``address``, waited on
    with trio's I/O primitives: no getaddrinfo per connection (trio's open_tcp_stream
    resolves even IP literals: ~0.15 ms each) and no trio stream objects (their close
    and checkpoints cost ~20% of a gather's CPU: cProfile, BENCHMARKS.md). The
    caller closes it; a failed connect raises OSError (ConnectionRefusedError, ...)."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(address)
        if code in (errno.EINPROGRESS, errno.EAGAIN):
            await trio.lowlevel.wait_writable(sock)
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        else:
            await trio.lowlevel.checkpoint()
        if code:
            raise OSError(code, os.strerror(code))  # the errno's own subclass
    except BaseException:
        sock.close()
        raise
    return sock


async def ask(address: tuple[str, int], hello: bytes) -> HelloAnswer:
    """Send ``hello`` to the numeric ``address`` and read the server's first flight. The
    caller owns the deadline; OSError (refused, reset) propagates to its classify()."""
    sock = await connect(address)
    try:
        view = memoryview(hello)
        while view:
            try:
                view = view[sock.send(view):]
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
        data = b""
        closed = False
        while not _flight_complete(data):
            try:
                chunk = sock.recv(16384)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)
                continue
            if not chunk:
                closed = True
                break
            data += chunk
        return parse_flight(data, closed)
    finally:
        sock.close()


def judge(version: str, wanted: int | None, answer: HelloAnswer | Attempt) -> Attempt:
    """An Attempt from a raw hello's answer: accepted when the server answered with a
    ServerHello (of version ``wanted``, when given)."""
    if isinstance(answer, Attempt):
        return Attempt(version=version, accepted=answer.accepted, reason=answer.reason,
                       detail=answer.detail, via="hello")
    if answer.version is None:
        detail = (f"alert {answer.alert}" if answer.alert is not None
                  else "not TLS" if answer.not_tls else "closed without a ServerHello")
        return Attempt(version=version, accepted=False, detail=detail, via="hello",
                       reason=TlsReason.HANDSHAKE_FAILED if answer.alert is not None
                       else TlsReason.CLOSED_IN_HANDSHAKE)
    if wanted is not None and answer.version != wanted:
        return Attempt(version=version, accepted=False, via="hello",
                       detail=f"server answered with version 0x{answer.version:04x}")
    return Attempt(version=version, accepted=True, cipher=answer.cipher_name, via="hello",
                   detail=f"ServerHello version 0x{answer.version:04x}")
