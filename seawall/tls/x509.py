"""Offline certificate analysis: facts of each certificate, path building, hostnames.

Why our own path building instead of ``cryptography.x509.verification``: that verifier
applies the CA/Browser Forum profile and rejects SHA-1 signatures and small RSA keys
outright, so an ``rsa1024`` or ``sha1`` leaf would come back as a bare "invalid chain"
rather than as a trusted chain with a weak key (which is its own check). Here we build
the path with signatures and names only; key strength, signature hash and validity
are separate facts judged by separate rules.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import ssl
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID

from seawall.tls.facts import CertFacts, ChainFacts, TlsReason

MAX_DEPTH = 8
_DER = Encoding.DER


@dataclass(frozen=True, eq=False)  # hashed by identity: stores are cached singletons
class TrustStore:
    """Trust anchors by subject, plus a pool of known intermediates (never anchors:
    used only to tell an incomplete chain from an unknown issuer)."""

    anchors: dict[bytes, tuple[x509.Certificate, ...]]
    pool: dict[bytes, tuple[x509.Certificate, ...]]


def _by_subject(certs: Iterable[x509.Certificate]) -> dict[bytes, tuple[x509.Certificate, ...]]:
    index: dict[bytes, list[x509.Certificate]] = {}
    for cert in certs:
        index.setdefault(cert.subject.public_bytes(), []).append(cert)
    return {k: tuple(v) for k, v in index.items()}


@functools.cache
def _pem_file(path: str) -> tuple[x509.Certificate, ...]:
    with open(path, "rb") as fh, warnings.catch_warnings():
        # System bundles hold a few old roots with non-positive serials: cryptography
        # warns on them; they are still anchors OpenSSL accepts.
        warnings.simplefilter("ignore")
        return tuple(x509.load_pem_x509_certificates(fh.read()))


@functools.cache
def _system_anchors() -> tuple[x509.Certificate, ...]:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate:
            try:
                return _pem_file(candidate)
            except (OSError, ValueError):
                continue
    return ()


@functools.cache
def trust_store(ca_file: str | None, pool_file: str | None = None,
                system: bool = True) -> TrustStore:
    """The anchors for a target: the system store (when ``system``) plus ``ca_file``.
    Cached per argument tuple: loading a CA bundle is the expensive part."""
    anchors = list(_system_anchors()) if system else []
    if ca_file:
        anchors.extend(_pem_file(ca_file))
    pool = _pem_file(pool_file) if pool_file else ()
    return TrustStore(_by_subject(anchors), _by_subject(pool))


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key made ``cert``'s signature (any hash, SHA-1 included:
    weak hashes are judged by a rule, not by refusing the path)."""
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            assert cert.signature_hash_algorithm is not None
            try:  # PSS or PKCS#1 v1.5; the accessor refuses SHA-1, which is PKCS#1 v1.5
                pad = cert.signature_algorithm_parameters
            except (ValueError, UnsupportedAlgorithm):
                pad = padding.PKCS1v15()
            key.verify(cert.signature, cert.tbs_certificate_bytes, pad,  # type: ignore[arg-type]
                       cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(cert.signature, cert.tbs_certificate_bytes,
                       ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        elif isinstance(key, dsa.DSAPublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(cert.signature, cert.tbs_certificate_bytes,
                       cert.signature_hash_algorithm)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError, AssertionError):
        return False
    return True


def cert_facts(cert: x509.Certificate, *, sent: bool) -> CertFacts:
    """Facts of one certificate."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey | ec.EllipticCurvePublicKey):
        bits = key.key_size
    else:
        bits = 256 if isinstance(key, ed25519.Ed25519PublicKey) else 456
    key_type = {rsa.RSAPublicKey: "rsa", ec.EllipticCurvePublicKey: "ec",
                ed25519.Ed25519PublicKey: "ed25519", ed448.Ed448PublicKey: "ed448",
                dsa.DSAPublicKey: "dsa"}
    kind = next((name for cls, name in key_type.items() if isinstance(key, cls)), "unknown")
    try:
        algorithm = cert.signature_hash_algorithm
        sig_hash = algorithm.name if algorithm is not None else None
    except UnsupportedAlgorithm:
        sig_hash = "unknown"
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(sans.get_values_for_type(x509.DNSName)) + tuple(
            str(ip) for ip in sans.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        names = ()
    return CertFacts(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        sans=names,
        not_before=cert.not_valid_before_utc.timestamp(),
        not_after=cert.not_valid_after_utc.timestamp(),
        key_type=kind,
        key_bits=bits,
        signature_hash=sig_hash,
        self_signed=cert.issuer == cert.subject and _signed_by(cert, cert),
        sent=sent,
        fingerprint=hashlib.sha256(cert.public_bytes(_DER)).hexdigest(),
    )


def _has_ca_issuers(cert: x509.Certificate) -> bool:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return False
    return any(d.access_method == AuthorityInformationAccessOID.CA_ISSUERS for d in aia)


def _issuer_in(index: dict[bytes, tuple[x509.Certificate, ...]],
               cert: x509.Certificate) -> x509.Certificate | None:
    for candidate in index.get(cert.issuer.public_bytes(), ()):
        if _signed_by(cert, candidate):
            return candidate
    return None


def build_path(sent: Sequence[x509.Certificate], store: TrustStore
               ) -> tuple[str, str, list[tuple[x509.Certificate, bool]]]:
    """(status, detail, path) for the chain a server sent (leaf first). ``path`` holds
    (certificate, sent-by-server). Status: ``trusted``; ``self_signed`` (the leaf signs
    itself and is not an anchor); ``untrusted_root`` (the path ends at a self-signed
    certificate that is no anchor, or at an issuer nobody knows); ``incomplete_chain``
    (the server left out an intermediate: a known intermediate or the issuer URL in
    the certificate (AIA) would complete it)."""
    offered = _by_subject(sent[1:])
    current = sent[0]
    path: list[tuple[x509.Certificate, bool]] = [(current, True)]
    for _ in range(MAX_DEPTH):
        anchors = store.anchors.get(current.subject.public_bytes(), ())
        if current in anchors:
            return "trusted", "", path
        anchor = _issuer_in(store.anchors, current)
        if anchor is not None:
            path.append((anchor, False))
            return "trusted", "", path
        if current.issuer == current.subject and _signed_by(current, current):
            status = TlsReason.SELF_SIGNED if len(path) == 1 else TlsReason.UNTRUSTED_ROOT
            detail = f"{current.subject.rfc4514_string()} is self-signed and not trusted"
            return status, detail, path
        parent = _issuer_in(offered, current)
        if parent is not None and all(parent is not c for c, _ in path):
            path.append((parent, True))
            current = parent
            continue
        known = _issuer_in(store.pool, current)
        issuer = current.issuer.rfc4514_string()
        if known is not None or _has_ca_issuers(current):
            if known is not None:
                path.append((known, False))
            return (TlsReason.INCOMPLETE_CHAIN,
                    f"the server did not send the issuer {issuer} of "
                    f"{current.subject.rfc4514_string()}", path)
        return TlsReason.UNTRUSTED_ROOT, f"issuer {issuer} is neither sent nor trusted", path
    return TlsReason.UNTRUSTED_ROOT, f"no trusted path within {MAX_DEPTH} certificates", path


def hostname_matches(name: str, sans: Sequence[str]) -> bool:
    """RFC 6125 matching of ``name`` against SAN entries: exact (case-insensitive) or a
    wildcard for the whole left-most label; IP literals match IP entries only."""
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    wanted = name.lower().rstrip(".")
    for entry in sans:
        if address is not None:
            try:
                if ipaddress.ip_address(entry) == address:
                    return True
            except ValueError:
                continue
            continue
        pattern = entry.lower().rstrip(".")
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "." in wanted \
                and wanted.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def analyse(der_chain: Sequence[bytes], server_name: str, store: TrustStore) -> ChainFacts:
    """Chain facts from the DER certificates a server sent (leaf first)."""
    return _analyse(tuple(der_chain), server_name, store)


@functools.lru_cache(maxsize=4096)
def _analyse(der_chain: tuple[bytes, ...], server_name: str, store: TrustStore) -> ChainFacts:
    # Cached: a fleet often serves one chain on many endpoints, and parsing plus
    # signature checks are the per-target Python work worth skipping.
    certs = [x509.load_der_x509_certificate(der) for der in der_chain]
    status, detail, path = build_path(certs, store)
    facts = tuple(cert_facts(cert, sent=sent) for cert, sent in path)
    return ChainFacts(
        status=str(status), detail=detail, path=facts, sent=len(certs),
        server_name=server_name,
        hostname_matches=hostname_matches(server_name, facts[0].sans),
    )
