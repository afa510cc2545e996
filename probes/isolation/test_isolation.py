"""isolation.*: sandboxes cannot reach each other, the host or the metadata service."""

import pytest

from seawall.expect import expect
from seawall.isolation import rules


@pytest.mark.isolation
@pytest.mark.privileged
def test_isolated(cell, facts, policy, clock):
    """No sandbox reaches another sandbox, the host or the metadata service, by any path."""
    expect(rules.verdict(facts, policy, clock()))
