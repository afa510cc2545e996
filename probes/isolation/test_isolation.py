"""isolation.*: sandboxes cannot reach each other, the host or the metadata service.

Root is needed only where the runtime needs it (the netns lab): the plan says so and the
tests skip with that reason; a `command` runtime (docker, kubectl) may run unprivileged."""

import pytest

from seawall.expect import expect
from seawall.isolation import rules


@pytest.mark.isolation
def test_isolated(cell, facts, policy, clock):
    """No sandbox reaches another sandbox, the host or the metadata service, by any path."""
    expect(rules.verdict(facts, policy, clock()))
