"""Link-layer and raw-socket attempts: ARP/NDP visibility, raw sockets, spoofing.

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
from collections.abc import Callable
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
    reply = _solicit(iface, 0x0806, frame, attempt["timeout"], lambda data: (
        len(data) >= 42 and data[20:22] == b"\x00\x02" and data[28:32] == target))
    if reply is None:
        return {"status": "timeout", "iface": iface}
    return {"status": "mac", "mac": reply[22:28].hex(":"), "iface": iface}


def _solicit(iface: str, ethertype: int, frame: bytes, timeout: float,
             is_answer: Callable[[bytes], bool]) -> bytes | None:
    """Send ``frame`` on ``iface`` and return the first frame of ``ethertype`` that
    ``is_answer`` accepts within ``timeout`` seconds, or None (shared by ARP and NDP)."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype)) as sock:
        sock.bind((iface, 0))
        deadline = time.monotonic() + timeout
        sock.send(frame)
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            data = sock.recv(256)
            if is_answer(data):
                return data
    return None


def _route6_to(host: str) -> tuple[str, bytes]:
    """(interface, our IPv6 address) used towards ``host``."""
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
        probe.connect((host, 9))
        local = socket.inet_pton(socket.AF_INET6, probe.getsockname()[0])
    for line in Path("/proc/net/if_inet6").read_text().splitlines():
        fields = line.split()
        if bytes.fromhex(fields[0]) == local:
            return fields[5], local
    raise OSError(errno.ENODEV, "no interface holds the IPv6 source address")


def _icmp6_checksum(src: bytes, dst: bytes, message: bytes) -> int:
    data = src + dst + struct.pack("!I3xB", len(message), 58) + message
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total >> 16) + (total & 0xFFFF)
    return int(~total & 0xFFFF)


def ndp(attempt: Result) -> Result:
    """IPv6 neighbour solicitation for ``host`` on our link (RFC 4861 section 4.3); a
    neighbour advertisement back means its MAC is visible to us, like ARP for IPv4."""
    iface, local = _route6_to(attempt["host"])
    mac = bytes.fromhex(Path(f"/sys/class/net/{iface}/address").read_text().strip()
                        .replace(":", ""))
    target = socket.inet_pton(socket.AF_INET6, attempt["host"])
    group = bytes.fromhex("ff0200000000000000000001ff") + target[13:]
    message = struct.pack("!BBHI", 135, 0, 0, 0) + target + b"\x01\x01" + mac
    message = message[:2] + struct.pack("!H", _icmp6_checksum(local, group, message)) \
        + message[4:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(message), 58, 255) + local + group
    frame = b"\x33\x33" + group[12:] + mac + b"\x86\xdd" + ip6 + message
    reply = _solicit(iface, 0x86DD, frame, attempt["timeout"], lambda data: (
        len(data) >= 78 and data[20] == 58 and data[54] == 136 and data[62:78] == target))
    if reply is None:
        return {"status": "timeout", "iface": iface}
    return {"status": "mac", "mac": reply[6:12].hex(":"), "iface": iface}


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
        return {"arp": arp, "ndp": ndp, "raw": raw, "spoof": spoof}[attempt["kind"]](attempt)
    except OSError as exc:
        return {"status": "error", "errno": errno.errorcode.get(exc.errno or 0, str(exc.errno))}
