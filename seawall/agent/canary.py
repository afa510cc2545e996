"""The canary wire format: a nonce out, ``SWC1 <name> <hmac>`` back.

Every sandbox gets its own key, derived from the run key: a listener holds only its
own key, so it can sign only as itself; the prober holds the run key and can check a
signature from any sandbox. An answer with a valid signature for the destination's
name proves the attempt reached the destination's canary, and nothing else (not the
prober's own loopback, not a TCP self-connect, not a proxy).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

MAGIC = "SWC1"


def sandbox_key(run_key: bytes, name: str) -> bytes:
    """The key of sandbox ``name`` under ``run_key``."""
    return hmac.new(run_key, b"sandbox:" + name.encode(), hashlib.sha256).digest()


def new_nonce() -> str:
    """A fresh random nonce (hex)."""
    return secrets.token_hex(12)


def request(nonce: str) -> bytes:
    """What a prober sends."""
    return f"{MAGIC} {nonce}\n".encode()


def parse_request(data: bytes) -> str | None:
    """The nonce of a request, or None when ``data`` is not one."""
    parts = data.decode("ascii", "replace").split()
    if len(parts) == 2 and parts[0] == MAGIC and len(parts[1]) <= 64:
        return parts[1]
    return None


def answer(key: bytes, name: str, nonce: str) -> bytes:
    """A listener's signed answer to ``nonce``."""
    mac = hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()
    return f"{MAGIC} {name} {mac}\n".encode()


def verify(run_key: bytes, nonce: str, data: bytes) -> tuple[str | None, bool]:
    """(name the answer claims, whether its signature is valid for that name)."""
    parts = data.decode("ascii", "replace").split()
    if len(parts) != 3 or parts[0] != MAGIC:
        return None, False
    name, mac = parts[1], parts[2]
    good = hmac.new(sandbox_key(run_key, name), nonce.encode(), hashlib.sha256).hexdigest()
    return name, hmac.compare_digest(good, mac)
