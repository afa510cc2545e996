"""The lab's private PKI: a trusted root and intermediate, an untrusted root, and leaves.

``LabPki(directory)`` writes ``root.pem`` (the trust anchor probes get as ``ca_file``),
``intermediate.pem`` and ``untrusted-root.pem``, then :meth:`LabPki.issue` writes one
leaf per call. Everything is generated fresh; keys are EC P-256 (fast) except the
RSA leaves asked for, whose keys are cached per process (RSA generation dominates).

SHA-1: ``cryptography`` (>= 41) refuses to *sign* a certificate with SHA-1
(``UnsupportedAlgorithm``), but still signs raw bytes with SHA-1. A SHA-1 leaf is
therefore built with SHA-256, then its ``TBSCertificate`` signature algorithm is
rewritten in DER and re-signed with SHA-1 (:func:`_resign_sha1`); no ``openssl`` CLI.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

KEYS = ("ec256", "rsa2048", "rsa1024")
HASHES = ("sha256", "sha1")
ISSUERS = ("intermediate", "root", "self", "untrusted")

_RSA_CACHE: dict[int, rsa.RSAPrivateKey] = {}
_SERIALS = itertools.count(0x5EA0_0000)


@dataclass(frozen=True)
class Credentials:
    """Files of one issued leaf: ``cert_file`` (leaf only), ``key_file`` (PKCS#8 PEM,
    unencrypted) and ``chain_file`` (the leaf followed by what the server sends:
    the intermediate when it is the issuer and ``send_intermediate`` was true)."""

    cert_file: Path
    key_file: Path
    chain_file: Path


def new_key(kind: str) -> PrivateKey:
    """A private key of ``kind`` (one of :data:`KEYS`); RSA keys are cached per process,
    so two RSA leaves of one size share a key (harmless in a lab, and 100x faster)."""
    if kind == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind in ("rsa2048", "rsa1024"):
        bits = int(kind[3:])
        if bits not in _RSA_CACHE:
            _RSA_CACHE[bits] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        return _RSA_CACHE[bits]
    raise ValueError(f"unknown key kind {kind!r}; expected one of {KEYS}")


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Seawall lab"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass(frozen=True)
class _Authority:
    cert: x509.Certificate
    key: PrivateKey


class LabPki:
    """A private PKI in ``directory``: trusted root -> intermediate, plus an untrusted root.

    ``now`` fixes the clock used for default validity windows (default: the real UTC
    time, truncated to whole seconds). ``root_ca_file`` is the PEM to trust;
    ``untrusted_ca_file`` the PEM of the other root (not to be trusted by probes; tests
    may use it to show the difference).
    """

    def __init__(self, directory: Path, *, now: datetime | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        # Certificates hold whole seconds: so does ``now``, so that validity facts
        # relative to it are exact.
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self._root = self._authority("Seawall Lab Root CA", None)
        self._intermediate = self._authority("Seawall Lab Intermediate CA", self._root)
        self._untrusted = self._authority("Seawall Lab Untrusted Root CA", None)
        self.root_ca_file = self._write("root.pem", _pem(self._root.cert))
        self.intermediate_file = self._write("intermediate.pem", _pem(self._intermediate.cert))
        self.untrusted_ca_file = self._write("untrusted-root.pem", _pem(self._untrusted.cert))
        self._count = itertools.count(1)

    def _write(self, name: str, data: bytes) -> Path:
        path = self.directory / name
        path.write_bytes(data)
        return path

    def _authority(self, common_name: str, parent: _Authority | None) -> _Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(common_name)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(parent.cert.subject if parent else subject)
            .public_key(key.public_key())
            .serial_number(next(_SERIALS))
            .not_valid_before(self.now - timedelta(days=365))
            .not_valid_after(self.now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None if parent is None
                                                 else 0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
        )
        if parent is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    parent.key.public_key()), critical=False)
        cert = builder.sign(parent.key if parent else key, hashes.SHA256())
        return _Authority(cert, key)

    def issue(
        self,
        names: Sequence[str],
        *,
        key: str = "ec256",
        signature_hash: str = "sha256",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        issuer: str = "intermediate",
        send_intermediate: bool = True,
    ) -> Credentials:
        """Issue a leaf for DNS ``names`` (the first is the subject CN) and write it.

        ``key``: one of :data:`KEYS`; ``signature_hash``: ``sha256`` or ``sha1`` (the
        hash the issuer signs the leaf with); validity defaults to [now - 1 day,
        now + 90 days]; ``issuer``: ``intermediate`` (trusted chain), ``root`` (signed
        directly by the trusted root), ``self`` (self-signed) or ``untrusted`` (signed
        by the untrusted root). ``send_intermediate`` puts the intermediate into
        ``chain_file`` (only meaningful with ``issuer="intermediate"``).
        Raises ValueError for an unknown option or no names.
        """
        if not names:
            raise ValueError("a leaf needs at least one DNS name")
        if signature_hash not in HASHES:
            raise ValueError(f"unknown signature hash {signature_hash!r}; expected {HASHES}")
        if issuer not in ISSUERS:
            raise ValueError(f"unknown issuer {issuer!r}; expected one of {ISSUERS}")
        leaf_key = new_key(key)
        subject = _name(names[0])
        signer = {"intermediate": self._intermediate, "root": self._root,
                  "untrusted": self._untrusted}.get(issuer)
        signer_key: PrivateKey = signer.key if signer else leaf_key
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(signer.cert.subject if signer else subject)
            .public_key(leaf_key.public_key())
            .serial_number(next(_SERIALS))
            .not_valid_before(not_before or self.now - timedelta(days=1))
            .not_valid_after(not_after or self.now + timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
        )
        if signer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    signer.key.public_key()), critical=False)
        cert = builder.sign(signer_key, hashes.SHA256())
        der = cert.public_bytes(serialization.Encoding.DER)
        if signature_hash == "sha1":
            der = _resign_sha1(der, signer_key)
            cert = x509.load_der_x509_certificate(der)
        stem = f"{next(self._count):03d}-{re.sub(r'[^A-Za-z0-9.-]', '_', names[0])}"
        cert_file = self._write(f"{stem}.pem", _pem(cert))
        key_file = self._write(f"{stem}.key", _key_pem(leaf_key))
        chain = _pem(cert)
        if issuer == "intermediate" and send_intermediate:
            chain += _pem(self._intermediate.cert)
        chain_file = self._write(f"{stem}.chain.pem", chain)
        return Credentials(cert_file=cert_file, key_file=key_file, chain_file=chain_file)


    def ocsp_response(self, creds: Credentials) -> Path:
        """A DER OCSP response saying "good" for the leaf of ``creds`` (issued by the
        intermediate), signed by the intermediate, valid [now - 1 h, now + 7 days]."""
        leaf = x509.load_pem_x509_certificate(creds.cert_file.read_bytes())
        issuer = self._intermediate
        response = (
            ocsp.OCSPResponseBuilder()
            .add_response(cert=leaf, issuer=issuer.cert, algorithm=hashes.SHA1(),
                          cert_status=ocsp.OCSPCertStatus.GOOD,
                          this_update=self.now - timedelta(hours=1),
                          next_update=self.now + timedelta(days=7),
                          revocation_time=None, revocation_reason=None)
            .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
            .sign(issuer.key, hashes.SHA256())
        )
        return self._write(creds.cert_file.name.replace(".pem", ".ocsp.der"),
                           response.public_bytes(serialization.Encoding.DER))


# --- DER surgery for SHA-1 leaves -------------------------------------------------------

_SHA1_ALGORITHMS = {
    # ecdsa-with-SHA1 (1.2.840.10045.4.1), no parameters (RFC 5758 3.2)
    "ec": bytes.fromhex("300906072a8648ce3d0401"),
    # sha1WithRSAEncryption (1.2.840.113549.1.1.5), NULL parameters (RFC 3279 2.2.1)
    "rsa": bytes.fromhex("300d06092a864886f70d0101050500"),
}


def _tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, content start, end) of the DER element at ``offset``."""
    tag, first = data[offset], data[offset + 1]
    if first < 0x80:
        return tag, offset + 2, offset + 2 + first
    width = first & 0x7F
    length = int.from_bytes(data[offset + 2:offset + 2 + width], "big")
    start = offset + 2 + width
    return tag, start, start + length


def _encode(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _resign_sha1(der: bytes, key: PrivateKey) -> bytes:
    """The certificate ``der`` re-signed by ``key`` with SHA-1 (both algorithm fields)."""
    _, cert_start, _ = _tlv(der, 0)
    _, tbs_start, tbs_end = _tlv(der, cert_start)
    elements: list[bytes] = []
    pos = tbs_start
    while pos < tbs_end:
        _, _, end = _tlv(der, pos)
        elements.append(der[pos:end])
        pos = end
    algorithm = _SHA1_ALGORITHMS["ec" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa"]
    sig_index = 2 if elements[0][0] == 0xA0 else 1  # [0] version, serial, signature
    elements[sig_index] = algorithm
    tbs = _encode(0x30, b"".join(elements))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(tbs, ec.ECDSA(hashes.SHA1()))
    else:
        signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    return _encode(0x30, tbs + algorithm + _encode(0x03, b"\x00" + signature))
