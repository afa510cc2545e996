"""One TLS handshake, as the engine makes it, and the probing contexts it uses.

Handshakes pump an SSLObject's memory BIOs to a non-blocking socket waited on with
``trio.lowlevel.wait_readable/wait_writable``, not through ``trio.SSLStream``, whose
general-purpose pumping, locks and stream closes took ~20% of a gather's CPU
(BENCHMARKS.md).

Contexts are built once per (version, client certificate) and reused by every target:
they carry no trust store (verification is offline), and building one costs ~1 ms.

The chain comes from ``SSLObject._sslobj.get_unverified_chain()``: private on 3.10-3.12
(public from 3.13), present on our 3.11.7 (measured), and it returns exactly what the
server sent, from the same handshake that gave the version and cipher; parsing the TLS
1.2 Certificate message by hand would cost a second (raw) handshake and does not work
for TLS 1.3, where the Certificate message is encrypted.
"""

from __future__ import annotations

import functools
import socket
import ssl
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from seawall.tls import hello as raw

#: ssl.TLSVersion per config name; SSLv3 is absent: OpenSSL 3 cannot offer it at all.
TLS_VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLSv1.0": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
_NAMES = {"TLSv1": "TLSv1.0", "TLSv1.1": "TLSv1.1", "TLSv1.2": "TLSv1.2", "TLSv1.3": "TLSv1.3"}
ALPN = ("h2", "http/1.1")


class LocalSetupError(Exception):
    """Our own setup failed (a client certificate that does not load): local_policy."""


@functools.cache
def client_context(ceiling: str | None, client_cert: Path | None = None,
                   client_key: Path | None = None, *, floor: str = "TLSv1.0",
                   ) -> ssl.SSLContext:
    """A probing context (cached): no verification (done offline), security level 0 so
    OpenSSL 3 will even offer TLS 1.0/1.1 and legacy suites, offering ``floor`` up to
    ``ceiling`` (None: everything from TLS 1.0 to 1.3, with ALPN; ``floor=ceiling``
    pins one version). Raises LocalSetupError."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("ALL:COMPLEMENTOFDEFAULT:@SECLEVEL=0")
    ctx.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
    with warnings.catch_warnings():  # TLSVersion.TLSv1/1_1 are deprecated: on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = TLS_VERSIONS[floor]
        ctx.maximum_version = TLS_VERSIONS[ceiling or "TLSv1.3"]
    if ceiling is None:
        ctx.set_alpn_protocols(list(ALPN))
    if client_cert is not None:
        try:
            ctx.load_cert_chain(client_cert, client_key)
        except (OSError, ssl.SSLError) as exc:
            raise LocalSetupError(f"cannot load client certificate {client_cert}: {exc}") from exc
    return ctx


@dataclass(frozen=True)
class _Handshake:
    version: str
    cipher: str
    alpn: str | None
    chain: tuple[bytes, ...]


def _chain(obj: ssl.SSLObject) -> tuple[bytes, ...]:
    private: Any = obj  # private API: see the module docstring (measured)
    public = getattr(obj, "get_unverified_chain", None)  # Python >= 3.13
    items = public() if public else private._sslobj.get_unverified_chain()
    private_ssl: Any = ssl
    der = private_ssl._ssl.ENCODING_DER
    return tuple(c if isinstance(c, bytes) else c.public_bytes(der) for c in items or ())


async def _flush(sock: socket.socket, outgoing: ssl.MemoryBIO) -> None:
    view = memoryview(outgoing.read())
    while view:
        try:
            view = view[sock.send(view):]
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)


async def _handshake(address: tuple[str, int], ctx: ssl.SSLContext, server_name: str,
                     want_chain: bool) -> _Handshake:
    """One handshake: an SSLObject over memory BIOs, pumped here to a non-blocking
    socket waited on with trio's I/O primitives (trio.SSLStream's general-purpose
    pumping, locks and stream closes cost ~23% of a gather's CPU: BENCHMARKS.md;
    SSLContext.wrap_socket would be leaner still but leaks its socket when the peer
    resets before the handshake starts). Raises ssl.SSLError / OSError for classify();
    the socket is closed on every path."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    sock = await raw.connect(address)
    try:
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                await _flush(sock, outgoing)
                try:
                    data = sock.recv(16384)
                except BlockingIOError:
                    await trio.lowlevel.wait_readable(sock)
                    continue
                if data:
                    incoming.write(data)
                else:
                    incoming.write_eof()
        await _flush(sock, outgoing)  # our Finished: the server counts a completed handshake
        cipher = obj.cipher()
        version = obj.version() or "?"
        return _Handshake(
            version=_NAMES.get(version, version),
            cipher=cipher[0] if cipher else "?",
            alpn=obj.selected_alpn_protocol(),
            chain=_chain(obj) if want_chain else (),
        )
    finally:
        sock.close()
