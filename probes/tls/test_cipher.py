"""TLS cipher-suite promises."""

import pytest

from seawall.expect import expect
from seawall.tls import rules


@pytest.mark.tls
def test_cipher(endpoint, facts, policy, clock):
    """Every endpoint negotiates only cipher suites its policy allows."""
    expect(rules.cipher(facts, policy, clock()))
