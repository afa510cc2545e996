"""The lab PKI issues what it is asked for, and the chains verify as intended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from seawall.lab import LabPki

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    return LabPki(tmp_path_factory.mktemp("pki"), now=NOW)


def load_all(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def cert_of(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_default_leaf_is_ec_sha256_via_intermediate(pki: LabPki) -> None:
    creds = pki.issue(["a.lab.seawall.test", "b.lab.seawall.test"])
    leaf, intermediate = load_all(creds.chain_file)
    root = cert_of(pki.root_ca_file)
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.signature_hash_algorithm is not None
    assert leaf.signature_hash_algorithm.name == "sha256"
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["a.lab.seawall.test", "b.lab.seawall.test"]
    assert leaf.not_valid_before_utc == NOW - timedelta(days=1)
    assert leaf.not_valid_after_utc == NOW + timedelta(days=90)
    assert cert_of(creds.cert_file) == leaf


def test_sha1_leaf_is_really_signed_with_sha1(pki: LabPki) -> None:
    creds = pki.issue(["sha1.lab.seawall.test"], signature_hash="sha1")
    leaf = cert_of(creds.cert_file)
    intermediate = cert_of(pki.intermediate_file)
    assert leaf.signature_hash_algorithm is not None
    assert leaf.signature_hash_algorithm.name == "sha1"
    public = intermediate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(hashes.SHA1()))
    with pytest.raises(Exception):  # noqa: B017 - any verification failure will do
        public.verify(leaf.signature, leaf.tbs_certificate_bytes + b"x", ec.ECDSA(hashes.SHA1()))


@pytest.mark.parametrize(("kind", "bits"), [("rsa2048", 2048), ("rsa1024", 1024)])
def test_rsa_keys(pki: LabPki, kind: str, bits: int) -> None:
    leaf = cert_of(pki.issue(["r.lab.seawall.test"], key=kind).cert_file)
    public = leaf.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == bits


def test_issuers_and_chains(pki: LabPki) -> None:
    root, untrusted = cert_of(pki.root_ca_file), cert_of(pki.untrusted_ca_file)
    self_signed = pki.issue(["s.lab.seawall.test"], issuer="self")
    leaf = cert_of(self_signed.cert_file)
    assert leaf.issuer == leaf.subject
    leaf.verify_directly_issued_by(leaf)
    by_untrusted = cert_of(pki.issue(["u.lab.seawall.test"], issuer="untrusted").chain_file)
    by_untrusted.verify_directly_issued_by(untrusted)
    by_root = pki.issue(["r.lab.seawall.test"], issuer="root")
    assert len(load_all(by_root.chain_file)) == 1
    cert_of(by_root.cert_file).verify_directly_issued_by(root)
    bare = pki.issue(["m.lab.seawall.test"], send_intermediate=False)
    assert len(load_all(bare.chain_file)) == 1


def test_explicit_validity(pki: LabPki) -> None:
    start, end = NOW - timedelta(days=100), NOW - timedelta(days=10)
    leaf = cert_of(pki.issue(["e.lab.seawall.test"], not_before=start, not_after=end).cert_file)
    assert (leaf.not_valid_before_utc, leaf.not_valid_after_utc) == (start, end)


@pytest.mark.parametrize("options", [{"key": "dsa"}, {"signature_hash": "md5"},
                                     {"issuer": "nobody"}])
def test_unknown_options_are_refused(pki: LabPki, options: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="unknown"):
        pki.issue(["x.lab.seawall.test"], **options)
