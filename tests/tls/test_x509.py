"""Offline chain analysis on certificates from the lab PKI: path building, what tells
an incomplete chain from an untrusted root, and SAN matching."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from seawall.lab import LabPki
from seawall.tls import x509 as analysis


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    return LabPki(tmp_path_factory.mktemp("pki"))


def ders(path: Path) -> list[bytes]:
    return [c.public_bytes(Encoding.DER)
            for c in x509.load_pem_x509_certificates(path.read_bytes())]


def test_full_chain_is_trusted_and_facts_are_kept(pki: LabPki) -> None:
    leaf = pki.issue(["www.lab.seawall.test"], key="rsa2048", signature_hash="sha1")
    store = analysis.trust_store(str(pki.root_ca_file), None, False)
    chain = analysis.analyse(ders(leaf.chain_file), "www.lab.seawall.test", store)
    assert chain.status == "trusted" and chain.sent == 2
    assert [c.sent for c in chain.path] == [True, True, False]
    assert (chain.leaf.key_type, chain.leaf.key_bits) == ("rsa", 2048)
    assert chain.leaf.signature_hash == "sha1"  # a weak hash is a fact, not a broken path
    assert chain.hostname_matches


def test_missing_intermediate_needs_a_known_intermediate_to_be_named(pki: LabPki) -> None:
    leaf = pki.issue(["m.lab.seawall.test"], send_intermediate=False)
    bare = analysis.trust_store(str(pki.root_ca_file), None, False)
    pooled = analysis.trust_store(str(pki.root_ca_file), str(pki.intermediate_file), False)
    without = analysis.analyse(ders(leaf.chain_file), "m.lab.seawall.test", bare)
    assert without.status == "untrusted_root"
    assert without.detail.startswith("issuer CN=Seawall Lab Intermediate CA")
    named = analysis.analyse(ders(leaf.chain_file), "m.lab.seawall.test", pooled)
    assert named.status == "incomplete_chain"
    assert [c.sent for c in named.path] == [True, False]


def test_self_signed_and_untrusted_root(pki: LabPki) -> None:
    store = analysis.trust_store(str(pki.root_ca_file), None, False)
    own = pki.issue(["s.lab.seawall.test"], issuer="self")
    assert analysis.analyse(ders(own.chain_file), "s.lab.seawall.test", store).status \
        == "self_signed"
    other = pki.issue(["u.lab.seawall.test"], issuer="untrusted")
    sent_root = ders(other.chain_file) + ders(pki.untrusted_ca_file)
    chain = analysis.analyse(sent_root, "u.lab.seawall.test", store)
    assert chain.status == "untrusted_root"
    assert chain.detail == ("CN=Seawall Lab Untrusted Root CA,O=Seawall lab is self-signed "
                            "and not trusted")


@pytest.mark.parametrize(("name", "sans", "matches"), [
    ("api.example.com", ("api.example.com",), True),
    ("API.Example.com.", ("api.example.com",), True),
    ("a.api.example.com", ("*.api.example.com",), True),
    ("a.b.api.example.com", ("*.api.example.com",), False),
    ("api.example.com", ("*.api.example.com",), False),
    ("other.example.com", ("api.example.com",), False),
    ("10.0.0.1", ("10.0.0.1",), True),
    ("10.0.0.1", ("*.0.0.1",), False),
    ("::1", ("0:0:0:0:0:0:0:1",), True),
])
def test_hostname_matching(name: str, sans: tuple[str, ...], matches: bool) -> None:
    assert analysis.hostname_matches(name, sans) is matches
