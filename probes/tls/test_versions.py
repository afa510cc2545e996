"""TLS protocol-version promises."""

import pytest

from seawall.expect import expect
from seawall.tls import rules


@pytest.mark.tls
def test_versions(endpoint, facts, policy, clock):
    """Every endpoint accepts only the TLS versions its policy allows."""
    expect(rules.versions(facts, policy, clock()))
