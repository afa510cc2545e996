"""The embedded lab: good and deliberately broken TLS and HTTP servers on loopback.

``pytest probes/`` probes it when no config is given, and Seawall's own tests use it as
fixtures::

    with Lab.start(["good13", "expired"]) as lab:
        address = lab.overrides[("expired.lab.seawall.test", 443)]  # ("127.0.0.1", port)
        ...  # trust lab.ca_file

:data:`TLS_CASES` and :data:`HTTP_CASES` are the static catalogue (name -> LabCase, with
the plain facts of each case); :class:`Lab` runs servers for them in a child process;
:class:`LabPki` is the private PKI behind their certificates.
"""

from seawall.lab.catalogue import ALL_CASES, DOMAIN, HTTP_CASES, TLS_CASES, LabCase, host_of
from seawall.lab.pki import Credentials, LabPki
from seawall.lab.process import Lab, LabError, LabServer, LabTrust

__all__ = [
    "ALL_CASES",
    "DOMAIN",
    "HTTP_CASES",
    "TLS_CASES",
    "Credentials",
    "Lab",
    "LabCase",
    "LabError",
    "LabPki",
    "LabServer",
    "LabTrust",
    "host_of",
]
