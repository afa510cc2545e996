"""The lab's servers: one selector loop serving every listener of a lab in one process.

One thread, one ``epoll`` selector, non-blocking sockets: a TLS handshake advances only
when its socket is ready, so a slow client or a ``hanging`` port never blocks another
port, and one process serves ~1000 listeners (the fleet benchmark). Handshakes run in
OpenSSL on the socket itself (``SSLSocket.do_handshake``), no Python-level BIO pumping.

Each listener counts accepted connections, completed and failed TLS handshakes, so
benchmarks can *measure* handshakes per endpoint (:meth:`ServerLoop.stats`).
"""

from __future__ import annotations

import selectors
import socket
import ssl
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

#: (status, headers) for a request path.
Responder = Callable[[str], tuple[int, list[tuple[str, str]]]]

_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 400: "Bad Request"}
_MAX_REQUEST = 65536


@dataclass
class ListenerStats:
    """Counters of one listener: TCP ``accepted``, TLS ``handshakes`` completed and
    ``failed`` (handshake errors or a peer leaving mid-handshake)."""

    accepted: int = 0
    handshakes: int = 0
    failed: int = 0


@dataclass
class Listener:
    """A listening socket and what it does with each connection.

    ``behaviour``: ``http`` (plain HTTP via ``responder``), ``tls`` (TLS with ``context``,
    then HTTP via ``responder``), ``garbage`` (answers the first bytes with HTTP 400),
    ``hanging`` (reads and discards, never writes, closes only when the peer does),
    ``reset`` (closes at once with SO_LINGER 0: an RST), ``closed`` (bound but not
    listening, so the port stays reserved and connections are refused) or ``external``
    (served by another process on ``external_port``; no ``sock``, no counters).
    """

    key: str
    behaviour: str
    sock: socket.socket | None
    context: ssl.SSLContext | None = None
    responder: Responder | None = None
    stats: ListenerStats = field(default_factory=ListenerStats)
    external_port: int = 0

    @property
    def port(self) -> int:
        """The real loopback port."""
        if self.sock is None:
            return self.external_port
        port: int = self.sock.getsockname()[1]
        return port


def bind_listener(key: str, behaviour: str, *, context: ssl.SSLContext | None = None,
                  responder: Responder | None = None, host: str = "127.0.0.1") -> Listener:
    """A listener on ``host`` and an ephemeral port (see :class:`Listener`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # No SO_REUSEADDR: with it, a "closed" (bound, not listening) port could be shared
    # by another socket binding with SO_REUSEADDR, and would stop refusing.
    sock.bind((host, 0))
    if behaviour != "closed":
        sock.listen(1024)
        sock.setblocking(False)
    return Listener(key, behaviour, sock, context, responder)


def http_response(status: int, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    """An HTTP/1.1 response with ``Connection: close`` and a ``Content-Length``."""
    if not body:
        body = f"{status} {_REASONS.get(status, '')}\n".encode()
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
             *(f"{k}: {v}" for k, v in headers),
             "Content-Type: text/plain", f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Conn:
    __slots__ = ("buf", "events", "listener", "out", "sock", "state")

    def __init__(self, sock: socket.socket, listener: Listener, state: str) -> None:
        self.sock = sock
        self.listener = listener
        self.state = state  # handshake | read | write | hang | closed
        self.buf = b""
        self.out = b""
        self.events = selectors.EVENT_READ


class ServerLoop:
    """Serves ``listeners`` until :meth:`stop`; ``on_control`` is called with each line
    read from ``control`` (a readable fd, e.g. stdin) and with ``None`` at its EOF."""

    def __init__(self, listeners: list[Listener]) -> None:
        self.listeners = listeners
        self.selector = selectors.DefaultSelector()
        self.running = True
        for listener in listeners:
            if listener.sock is not None and listener.behaviour != "closed":
                self.selector.register(listener.sock, selectors.EVENT_READ, listener)

    def watch(self, fd: int, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever ``fd`` is readable."""
        self.selector.register(fd, selectors.EVENT_READ, callback)

    def stop(self) -> None:
        """Make :meth:`run` return after the current event."""
        self.running = False

    def stats(self) -> dict[str, dict[str, int]]:
        """Counters per listener key."""
        return {lst.key: vars(lst.stats).copy() for lst in self.listeners}

    def reset_stats(self) -> None:
        """Zero every counter."""
        for lst in self.listeners:
            lst.stats = ListenerStats()

    def run(self) -> None:
        """Serve until :meth:`stop`."""
        while self.running:
            for key, _ in self.selector.select(timeout=1.0):
                data = key.data
                if isinstance(data, Listener):
                    self._accept(data)
                elif isinstance(data, _Conn):
                    self._step(data)
                else:
                    data()

    def _accept(self, listener: Listener) -> None:
        for _ in range(64):
            assert listener.sock is not None
            try:
                sock, _ = listener.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EMFILE and friends: leave it in the backlog
                return
            listener.stats.accepted += 1
            behaviour = listener.behaviour
            if behaviour == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                continue
            sock.setblocking(False)
            if behaviour == "tls":
                assert listener.context is not None
                sock = listener.context.wrap_socket(sock, server_side=True,
                                                    do_handshake_on_connect=False)
                conn = _Conn(sock, listener, "handshake")
            else:
                conn = _Conn(sock, listener, "hang" if behaviour == "hanging" else "read")
            self.selector.register(sock, selectors.EVENT_READ, conn)
            if behaviour == "tls":
                self._step(conn)

    def _close(self, conn: _Conn) -> None:
        self.selector.unregister(conn.sock)
        conn.sock.close()

    def _wait(self, conn: _Conn, events: int) -> None:
        if conn.events != events:
            conn.events = events
            self.selector.modify(conn.sock, events, conn)

    def _step(self, conn: _Conn) -> None:
        try:
            if conn.state == "handshake":
                self._handshake(conn)
            if conn.state in ("read", "hang"):
                self._read(conn)
            if conn.state == "write":
                self._write(conn)
        except ssl.SSLWantReadError:
            self._wait(conn, selectors.EVENT_READ)
        except ssl.SSLWantWriteError:
            self._wait(conn, selectors.EVENT_WRITE)
        except (BlockingIOError, InterruptedError):
            pass
        except (OSError, ValueError):
            if conn.state == "handshake":
                conn.listener.stats.failed += 1
            self._close(conn)

    def _handshake(self, conn: _Conn) -> None:
        assert isinstance(conn.sock, ssl.SSLSocket)
        conn.sock.do_handshake()
        conn.listener.stats.handshakes += 1
        conn.state = "read"

    def _read(self, conn: _Conn) -> None:
        while True:
            chunk = conn.sock.recv(16384)
            if not chunk:
                self._close(conn)
                conn.state = "closed"
                return
            if conn.state == "hang":
                continue
            conn.buf += chunk
            if self._respond(conn):
                return

    def _respond(self, conn: _Conn) -> bool:
        listener = conn.listener
        if listener.behaviour == "garbage":
            conn.out = http_response(400, [])
        elif b"\r\n\r\n" in conn.buf or len(conn.buf) > _MAX_REQUEST:
            parts = conn.buf.split(b"\r\n", 1)[0].split()
            path = parts[1].decode("latin-1") if len(parts) >= 2 else "/"
            assert listener.responder is not None
            status, headers = listener.responder(path)
            conn.out = http_response(status, headers)
        else:
            return False
        conn.state = "write"
        self._wait(conn, selectors.EVENT_WRITE)
        return True

    def _write(self, conn: _Conn) -> None:
        while conn.out:
            sent = conn.sock.send(conn.out)
            conn.out = conn.out[sent:]
        self._close(conn)
        conn.state = "closed"
