"""A minimal DNS wire format (RFC 1035): one A query out, the lab responder's answer.

The exfiltration probe asks a resolver for ``<nonce>.<domain>``: a resolver that answers
at all (even NXDOMAIN) has carried the name out of the sandbox, and a recursive one
would forward it to the domain's servers. The lab's responder (in the canary,
``seawall.agent.listen``) logs the first label, the nonce, as its proof.
"""

from __future__ import annotations

import secrets
import struct

DOMAIN = "exfil.seawall.invalid"


def query(nonce: str, domain: str = DOMAIN) -> tuple[int, bytes]:
    """(id, packet) of a recursive A query for ``<nonce>.<domain>``."""
    ident = secrets.randbits(16)
    name = b"".join(bytes([len(p)]) + p.encode() for p in f"{nonce}.{domain}".split("."))
    return ident, struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + name + b"\0\0\1\0\1"


def qname(packet: bytes) -> str | None:
    """The question name of a query packet, or None when it is not a query."""
    if len(packet) < 17 or packet[2] & 0x80:
        return None
    labels, i = [], 12
    while i < len(packet) and packet[i]:
        size = packet[i]
        if size > 63 or i + 1 + size > len(packet):
            return None
        labels.append(packet[i + 1:i + 1 + size].decode("ascii", "replace"))
        i += 1 + size
    return ".".join(labels) if labels else None


def nxdomain(packet: bytes) -> bytes:
    """The NXDOMAIN answer to query ``packet`` (question echoed)."""
    ident, flags = struct.unpack("!HH", packet[:4])
    end = packet.index(b"\0", 12) + 5
    return struct.pack("!HHHHHH", ident, 0x8183 | (flags & 0x0100), 1, 0, 0, 0) + packet[12:end]


def response_code(packet: bytes, ident: int) -> int | None:
    """The RCODE of a response to query ``ident``, or None when ``packet`` is not one."""
    if len(packet) < 12:
        return None
    got, flags = struct.unpack("!HH", packet[:4])
    return flags & 0x0F if got == ident and flags & 0x8000 else None
