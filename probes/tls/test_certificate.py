"""TLS certificate promises: trusted chain, right name, valid dates, strong key and signature."""

import pytest

from seawall.expect import expect
from seawall.tls import rules


@pytest.mark.tls
def test_cert_chain(endpoint, facts, policy, clock):
    """Every endpoint sends a certificate chain that leads to a trusted root."""
    expect(rules.cert_chain(facts, policy, clock()))


@pytest.mark.tls
def test_cert_hostname(endpoint, facts, policy, clock):
    """Every endpoint's certificate names the host clients ask for."""
    expect(rules.cert_hostname(facts, policy, clock()))


@pytest.mark.tls
def test_cert_expiry(endpoint, facts, policy, clock):
    """Every certificate in the chain is valid now and not about to expire."""
    expect(rules.cert_expiry(facts, policy, clock()))


@pytest.mark.tls
def test_cert_key(endpoint, facts, policy, clock):
    """Every certificate key is strong enough for its policy (RSA >= 2048 bits)."""
    expect(rules.cert_key(facts, policy, clock()))


@pytest.mark.tls
def test_cert_signature(endpoint, facts, policy, clock):
    """No certificate in the chain is signed with SHA-1 or MD5."""
    expect(rules.cert_signature(facts, policy, clock()))
