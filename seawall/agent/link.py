"""Link-layer and raw-socket attempts: ARP visibility, raw socket availability, spoofing.

Standard library only (AF_PACKET and IPPROTO_RAW sockets), so images without scapy
can run them too. All need CAP_NET_RAW: without it the result is ``error`` with EPERM,
which is itself the fact the ``raw`` check wants.
"""

from __future__ import annotations

import errno
import fcntl
import select
import socket
import struct
import time
from pathlib import Path
from typing import Any

from seawall.agent import canary

Result = dict[str, Any]
SIOCGIFADDR = 0x8915


def _ipv4_of(name: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def _route_to(host: str) -> tuple[str, str]:
    """(interface, our address) used towards ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, 9))
        local = probe.getsockname()[0]
    for _, name in socket.if_nameindex():
        if _ipv4_of(name) == local:
            return name, local
    raise OSError(errno.ENODEV, "no interface holds the source address")


def arp(attempt: Result) -> Result:
    """Ask who-has ``host`` on our link; a reply means its MAC is visible to us."""
    iface, local = _route_to(attempt["host"])
    mac_text = Path(f"/sys/class/net/{iface}/address").read_text().strip()
    mac = bytes.fromhex(mac_text.replace(":", ""))
    target = socket.inet_aton(attempt["host"])
    frame = (b"\xff" * 6 + mac + b"\x08\x06"
             + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton(local)
             + b"\0" * 6 + target)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806)) as sock:
        sock.bind((iface, 0))
        deadline = time.monotonic() + attempt["timeout"]
        sock.send(frame)
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            data = sock.recv(128)
            if len(data) >= 42 and data[20:22] == b"\x00\x02" and data[28:32] == target:
                return {"status": "mac", "mac": data[22:28].hex(":"), "iface": iface}
    return {"status": "timeout", "iface": iface}


def raw(attempt: Result) -> Result:
    """Whether a packet socket can be opened at all (CAP_NET_RAW)."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003)):
        return {"status": "available"}


def spoof(attempt: Result) -> Result:
    """A UDP datagram to the destination canary with a forged source address."""
    src, dst = socket.inet_aton(attempt["source"]), socket.inet_aton(attempt["host"])
    payload = canary.request(attempt["nonce"])
    udp = struct.pack("!HHHH", 40000, attempt["port"], 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        sock.sendto(ip + udp, (attempt["host"], 0))
    return {"status": "sent", "spoofed_source": attempt["source"]}


def run(attempt: Result) -> Result:
    """Dispatch one link attempt; an OSError becomes ``error`` with its errno name."""
    try:
        return {"arp": arp, "raw": raw, "spoof": spoof}[attempt["kind"]](attempt)
    except OSError as exc:
        return {"status": "error", "errno": errno.errorcode.get(exc.errno or 0, str(exc.errno))}
