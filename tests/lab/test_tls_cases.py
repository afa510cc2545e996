"""Each TLS case of the lab behaves as its catalogue entry says, seen by stdlib clients."""

from __future__ import annotations

import socket
import ssl
import subprocess
import warnings
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from seawall.lab import DOMAIN, TLS_CASES, Lab, LabCase

VERSIONS = {"TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
            "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
CERT_CASES = [c for c in TLS_CASES.values() if c.has_certificate]


def client(version: str | None = None, *, ca: object = None, ciphers: str = "",
           alpn: list[str] | None = None) -> ssl.SSLContext:
    """A client context: verifying against ``ca`` when given, else accepting anything
    (at security level 0, so old versions and weak keys are not refused locally)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers(ciphers or "ALL:@SECLEVEL=0")
    else:
        ctx.load_verify_locations(cafile=str(ca))
        if ciphers:
            ctx.set_ciphers(ciphers)
    if version:
        with warnings.catch_warnings():  # TLSv1/TLSv1_1 are deprecated names
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = VERSIONS[version]
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def handshake(lab: Lab, case: LabCase, ctx: ssl.SSLContext) -> ssl.SSLSocket:
    sock = socket.create_connection(lab.overrides[(case.host, case.port)], timeout=5)
    try:
        return ctx.wrap_socket(sock, server_hostname=case.host)
    except BaseException:
        sock.close()
        raise


def peer_cert(lab: Lab, case: LabCase) -> x509.Certificate:
    with handshake(lab, case, client()) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der
    return x509.load_der_x509_certificate(der)


@pytest.mark.parametrize("case", CERT_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("version", list(VERSIONS))
def test_versions_enabled_are_exactly_the_recorded_ones(lab: Lab, case: LabCase,
                                                        version: str) -> None:
    if version in case.versions:
        with handshake(lab, case, client(version)) as tls:
            assert tls.version() == {"TLSv1.0": "TLSv1"}.get(version, version)
    else:
        with pytest.raises(ssl.SSLError):
            handshake(lab, case, client(version)).close()


@pytest.mark.parametrize("case", CERT_CASES, ids=lambda c: c.name)
def test_certificate_matches_the_recorded_facts(lab: Lab, case: LabCase) -> None:
    cert = peer_cert(lab, case)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert tuple(names.get_values_for_type(x509.DNSName)) == case.cert_names
    public = cert.public_key()
    if case.key == "ec256":
        assert isinstance(public, ec.EllipticCurvePublicKey) and public.key_size == 256
    else:
        assert isinstance(public, rsa.RSAPublicKey) and f"rsa{public.key_size}" == case.key
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == case.signature_hash
    assert cert.not_valid_before_utc - lab.now == timedelta(days=case.valid_from_days)
    assert cert.not_valid_after_utc - lab.now == timedelta(days=case.valid_until_days)
    issuer_cn = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    expected = {"intermediate": "Seawall Lab Intermediate CA", "self": case.host,
                "untrusted": "Seawall Lab Untrusted Root CA"}[case.issuer]
    assert issuer_cn == expected


def test_the_good_cases_verify_against_the_lab_root(lab: Lab) -> None:
    for name in ("good13", "good12", "only12", "legacy", "expiring_soon", "alpn"):
        with handshake(lab, TLS_CASES[name], client(ca=lab.ca_file)) as tls:
            assert tls.version() in TLS_CASES[name].versions


@pytest.mark.parametrize(("name", "message"), [
    ("expired", "certificate has expired"),
    ("not_yet_valid", "certificate is not yet valid"),
    ("wrong_host", "Hostname mismatch"),
    ("self_signed", "self-signed certificate"),
    ("untrusted_root", "unable to get local issuer certificate"),
    ("missing_intermediate", "unable to get local issuer certificate"),
    ("rsa1024", "key too weak"),
    ("sha1", "digest algorithm too weak"),
])
def test_broken_certificates_fail_verification(lab: Lab, name: str, message: str) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match=message):
        handshake(lab, TLS_CASES[name], client(ca=lab.ca_file)).close()


def test_missing_intermediate_sends_only_the_leaf(lab: Lab, tmp_path: object) -> None:
    # It verifies once the client holds the intermediate itself: so the leaf is fine
    # and the only thing missing from what the server sends is the intermediate.
    bundle = lab.pki.ca_file.read_bytes() + lab.pki.intermediate_file.read_bytes()
    ca = lab.pki.ca_file.parent / "root-and-intermediate.pem"
    ca.write_bytes(bundle)
    with handshake(lab, TLS_CASES["missing_intermediate"], client(ca=ca)) as tls:
        assert tls.version() == "TLSv1.3"


def test_untrusted_root_verifies_against_the_untrusted_root(lab: Lab) -> None:
    with handshake(lab, TLS_CASES["untrusted_root"], client(ca=lab.untrusted_ca_file)):
        pass


def test_wrong_host_names_another_host() -> None:
    case = TLS_CASES["wrong_host"]
    assert case.host == f"wrong-host.{DOMAIN}" and case.host not in case.cert_names


def test_only12_negotiates_ecdhe_aead(lab: Lab) -> None:
    with handshake(lab, TLS_CASES["only12"], client(ca=lab.ca_file)) as tls:
        cipher = tls.cipher()
    assert cipher is not None
    assert cipher[0].startswith("ECDHE-") and ("GCM" in cipher[0] or "CHACHA" in cipher[0])


def test_weak_cipher_offers_only_static_rsa(lab: Lab) -> None:
    case = TLS_CASES["weak_cipher"]
    with handshake(lab, case, client(ca=lab.ca_file, ciphers="AES128-SHA")) as tls:
        cipher = tls.cipher()
    assert cipher is not None and cipher[0] == "AES128-SHA"
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"):
        handshake(lab, case, client(ca=lab.ca_file, ciphers="ECDHE+AESGCM")).close()


def test_alpn_offers_h2_and_http11(lab: Lab) -> None:
    for offer, chosen in ((["h2", "http/1.1"], "h2"), (["http/1.1"], "http/1.1")):
        with handshake(lab, TLS_CASES["alpn"], client(ca=lab.ca_file, alpn=offer)) as tls:
            assert tls.selected_alpn_protocol() == chosen
    with handshake(lab, TLS_CASES["good12"], client(ca=lab.ca_file, alpn=["h2"])) as tls:
        assert tls.selected_alpn_protocol() is None


def stapled(lab: Lab, case: LabCase) -> str:
    """What ``openssl s_client -status`` says about the OCSP response of ``case``."""
    address = lab.overrides[(case.host, 443)]
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"{address[0]}:{address[1]}", "-servername",
         case.host, "-status", "-CAfile", str(lab.ca_file), "-verify_return_error"],
        input=b"", capture_output=True, timeout=20, check=True)
    return done.stdout.decode()


def test_ocsp_staples_a_good_response(lab: Lab) -> None:
    out = stapled(lab, TLS_CASES["ocsp"])
    assert "OCSP Response Status: successful" in out and "Cert Status: good" in out


def test_other_cases_staple_nothing(lab: Lab) -> None:
    assert "OCSP response: no response sent" in stapled(lab, TLS_CASES["good12"])
    assert not any(c.ocsp_stapled for n, c in TLS_CASES.items() if n != "ocsp")
