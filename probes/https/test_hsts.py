"""https.hsts: HTTPS answers tell browsers to stay on HTTPS (Strict-Transport-Security)."""

import pytest

from seawall.expect import expect
from seawall.https import rules


@pytest.mark.https
def test_hsts(service, facts, policy):
    """HTTPS responses carry Strict-Transport-Security with a max-age of at least a year."""
    expect(rules.hsts(facts, policy))
