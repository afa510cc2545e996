"""at_rest.mechanism: the promised encryption mechanism backs each data path."""

import pytest

from seawall.at_rest import rules
from seawall.expect import expect


@pytest.mark.at_rest
def test_mechanism(data_path, facts, policy, clock):
    """Each data path sits on the encryption mechanism its policy names, and it encrypts."""
    expect(rules.mechanism(facts, policy, clock()))
