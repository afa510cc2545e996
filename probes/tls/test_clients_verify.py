"""tls.client_verifies: our HTTPS clients refuse servers with invalid certificates."""

import pytest

from seawall.expect import expect
from seawall.tls import clients


@pytest.mark.tls
def test_client_verifies(client, facts):
    """Our HTTPS clients refuse self-signed, wrong-host, expired and untrusted certificates."""
    expect(clients.client_verifies(facts))
