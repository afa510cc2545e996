"""What the tls suite saw on an endpoint: frozen facts, including why it could not look.

Times are Unix seconds (``float``), so rules judge them against an injected ``now``;
facts never contain a judgement that depends on the clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class TlsReason(enum.StrEnum):
    """Judgement reasons of the tls suite (shared ones live in :mod:`seawall.reasons`)."""

    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRING_SOON = "expiring_soon"
    HOSTNAME_MISMATCH = "hostname_mismatch"
    SELF_SIGNED = "self_signed"
    UNTRUSTED_ROOT = "untrusted_root"
    INCOMPLETE_CHAIN = "incomplete_chain"
    WEAK_KEY = "weak_key"
    WEAK_SIGNATURE = "weak_signature"
    PROTOCOL_TOO_OLD = "protocol_too_old"  # accepts a version older than the policy allows
    PROTOCOL_NOT_ALLOWED = "protocol_not_allowed"  # accepts another version not allowed
    WEAK_CIPHER = "weak_cipher"
    NOT_TLS = "not_tls"  # the port answered with something that is not TLS
    HANDSHAKE_FAILED = "handshake_failed"  # the server refused every handshake we offered
    CLOSED_IN_HANDSHAKE = "closed_in_handshake"  # TCP accepted, closed before a ServerHello


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One question asked of the server: "do you accept ``version``?".

    ``accepted`` is True (it completed a handshake or answered with a ServerHello),
    False (it refused: an alert, a close, a reset after our ClientHello, or it
    negotiated another version when offered this one) or None: we could not tell,
    and ``reason`` says why (``timeout``, ``local_policy`` when our own library
    refused to send). ``via`` is ``handshake`` (stdlib ssl), ``hello`` (hand-built
    ClientHello) or ``negotiation`` (inferred from the server's choice when offered
    everything from TLS 1.0 up to 1.3, or up to a lower cap: it picks its best version
    in the range offered, which is what the version field means: RFC 8446 4.2.1).
    """

    version: str
    accepted: bool | None
    cipher: str | None = None
    reason: str | None = None
    detail: str = ""
    via: str = "handshake"


@dataclass(frozen=True, kw_only=True)
class CertFacts:
    """One certificate as seen. ``sent`` is false for a certificate that came from the
    trust store or from the known-intermediates pool rather than from the server."""

    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: float
    not_after: float
    key_type: str  # rsa, ec, ed25519, ed448, dsa
    key_bits: int
    signature_hash: str | None  # sha256, sha1, md5 ... None for ed25519
    self_signed: bool
    sent: bool
    fingerprint: str  # sha256 hex


@dataclass(frozen=True, kw_only=True)
class ChainFacts:
    """The certificate chain, verified offline from ONE unverified handshake.

    ``path`` runs leaf -> ... -> anchor (when one was found), else as far as it could
    be built. ``status`` is ``trusted`` or a TlsReason value (``self_signed``,
    ``untrusted_root``, ``incomplete_chain``); ``detail`` says which certificate
    stopped the path. ``sent`` is how many certificates the server sent.
    ``hostname_matches`` compares the name we asked for with the leaf's SANs.
    Signature and name checks only: validity periods are judged by rules at ``now``.
    """

    status: str
    detail: str
    path: tuple[CertFacts, ...]
    sent: int
    server_name: str
    hostname_matches: bool

    @property
    def leaf(self) -> CertFacts:
        """The server's own certificate."""
        return self.path[0]


@dataclass(frozen=True, kw_only=True)
class TlsFacts:
    """Everything measured on one endpoint.

    ``error``/``error_detail``: why we could not look at all (a reason value: timeout,
    refused, reset, dns_failure, not_tls, handshake_failed, ...); then the other fields
    are empty. Otherwise ``version``/``cipher``/``alpn`` come from the main handshake
    (the best version the server picks when offered everything), ``attempts`` hold one
    entry per protocol version (SSLv3 by a hand-built hello), ``chain`` the certificate
    facts. ``legacy_ciphers`` is the answer to a hand-built hello offering only RC4,
    3DES, export, NULL and anonymous suites (``accepted``: the server chose one, named
    in ``cipher``; None when not asked). ``ocsp_stapled`` is None when unknown (not
    asked, or TLS 1.3 only: the status is encrypted there). ``handshakes`` counts
    stdlib handshakes, ``hellos`` hand-built hellos. ``address`` is what was dialled.
    """

    target: str
    server_name: str
    address: str
    observed_at: float
    error: str | None = None
    error_detail: str = ""
    version: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    attempts: tuple[Attempt, ...] = ()
    chain: ChainFacts | None = None
    legacy_ciphers: Attempt | None = None
    ocsp_stapled: bool | None = None
    handshakes: int = 0
    hellos: int = 0

    def attempt(self, version: str) -> Attempt | None:
        """The attempt for ``version``, if one was made or inferred."""
        for attempt in self.attempts:
            if attempt.version == version:
                return attempt
        return None

    @property
    def accepted(self) -> tuple[str, ...]:
        """Versions the server accepted, oldest first."""
        return tuple(a.version for a in self.attempts if a.accepted)
