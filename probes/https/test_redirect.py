"""https.redirect: plain HTTP is never served; it redirects to HTTPS on the same host."""

import pytest

from seawall.expect import expect
from seawall.https import rules


@pytest.mark.https
def test_redirect(service, facts, policy):
    """Plain HTTP redirects to https:// on the same host (or is closed, where policy allows)."""
    expect(rules.redirect(facts, policy))
