"""at_rest.encrypted: the canary proof for each data path."""

import pytest

from seawall.at_rest import rules
from seawall.expect import expect


@pytest.mark.at_rest
def test_encrypted(data_path, facts, policy, clock):
    """Data written to each path never reaches the storage medium in plaintext."""
    expect(rules.encrypted(facts, policy, clock()))
