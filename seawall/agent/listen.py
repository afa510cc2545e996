"""``listen``: the canary inside a sandbox.

Reads one JSON line on stdin: ``{"name", "key" (hex, this sandbox's key), "tcp": [ports],
"udp": [ports], "random_high": bool}``. Binds every port dual-stack, prints
``{"event": "ready", "tcp": [...], "udp": [...]}`` and then one JSON line per nonce it
receives (``{"event": "tcp"|"udp", "nonce", "peer", "port"}``): for UDP that log is the
proof, since silence on the prober's side proves nothing. Exits when stdin closes (the
engine went away) or on SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import random
import selectors
import signal
import socket
import sys
from typing import Any

from seawall.agent import canary, dns


def _bind(kind: int, port: int) -> socket.socket:
    """A socket bound to ``port`` on every address, IPv6 and IPv4 where possible."""
    try:
        sock = socket.socket(socket.AF_INET6, kind)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        host = "::"
    except OSError:
        sock = socket.socket(socket.AF_INET, kind)
        host = "0.0.0.0"
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    if kind == socket.SOCK_STREAM:
        sock.listen(512)
    sock.setblocking(False)
    return sock


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _peer(address: Any) -> str:
    host = str(address[0])
    return host.removeprefix("::ffff:")


def main() -> int:
    """Run the canary until stdin closes; returns the exit status."""
    config = json.loads(sys.stdin.readline())
    name, key = config["name"], bytes.fromhex(config["key"])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tcp_ports = list(config.get("tcp", []))
    if config.get("random_high"):
        tcp_ports.append(random.randint(40000, 59999))
    selector = selectors.DefaultSelector()
    bound: dict[str, list[int]] = {"tcp": [], "udp": [], "dns": []}
    for kind, ports, label in (
        (socket.SOCK_STREAM, tcp_ports, "tcp"), (socket.SOCK_DGRAM, config.get("udp", []), "udp"),
        (socket.SOCK_DGRAM, config.get("dns", []), "dns"),
    ):
        for port in ports:
            listener = _bind(kind, port)
            bound[label].append(listener.getsockname()[1])
            selector.register(listener, selectors.EVENT_READ, (label, "listen"))
    selector.register(sys.stdin, selectors.EVENT_READ, ("stdin", "stdin"))
    _emit({"event": "ready", "name": name, **bound})
    buffers: dict[socket.socket, bytes] = {}
    while True:
        for item, _ in selector.select(timeout=5):
            label, role = item.data
            if label == "stdin":
                if not sys.stdin.readline():
                    return 0
                continue
            sock = item.fileobj
            assert isinstance(sock, socket.socket)
            if label == "dns":
                with contextlib.suppress(OSError, ValueError):
                    data, peer = sock.recvfrom(2048)
                    asked = dns.qname(data)
                    if asked is not None:
                        _emit({"event": "dns", "nonce": asked.split(".")[0], "peer": _peer(peer),
                               "port": sock.getsockname()[1]})
                        sock.sendto(dns.nxdomain(data), peer)
            elif label == "udp":
                with contextlib.suppress(OSError):
                    data, peer = sock.recvfrom(2048)
                    nonce = canary.parse_request(data)
                    if nonce is not None:
                        port = sock.getsockname()[1]
                        _emit({"event": "udp", "nonce": nonce, "peer": _peer(peer), "port": port})
                        sock.sendto(canary.answer(key, name, nonce), peer)
            elif role == "listen":
                with contextlib.suppress(OSError):
                    conn, _peer_addr = sock.accept()
                    conn.setblocking(False)
                    buffers[conn] = b""
                    selector.register(conn, selectors.EVENT_READ, ("tcp", "conn"))
            else:
                _serve(selector, buffers, sock, key, name)


def _serve(
    selector: selectors.BaseSelector, buffers: dict[socket.socket, bytes],
    conn: socket.socket, key: bytes, name: str,
) -> None:
    """Read a request line from ``conn``; answer it signed, then close."""
    try:
        chunk = conn.recv(256)
    except OSError:
        chunk = b""
    data = buffers[conn] + chunk
    if chunk and b"\n" not in data and len(data) < 256:
        buffers[conn] = data
        return
    nonce = canary.parse_request(data)
    if nonce is not None:
        with contextlib.suppress(OSError):
            _emit({"event": "tcp", "nonce": nonce, "peer": _peer(conn.getpeername()),
                   "port": conn.getsockname()[1]})
            conn.send(canary.answer(key, name, nonce))
    selector.unregister(conn)
    del buffers[conn]
    conn.close()
