"""HTTPS policies: the built-in ``default``, the lab's, and which applies to a service.

The policy type lives in :mod:`seawall.config.https` (config may not import suites);
this module is where the suite and its probes find it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from seawall.config.https import (
    DEFAULT_POLICY,
    ONE_YEAR,
    PLAIN_HTTP_CHOICES,
    REDIRECT,
    REDIRECT_OR_CLOSED,
    HttpsPolicy,
)
from seawall.targets import WebService

__all__ = [
    "DEFAULT_POLICY",
    "LAB_POLICIES",
    "LAB_POLICY_OF",
    "ONE_YEAR",
    "PLAIN_HTTP_CHOICES",
    "REDIRECT",
    "REDIRECT_OR_CLOSED",
    "HttpsPolicy",
    "policies_for",
]

#: The lab's policies: ``default`` for every case, except ``http_closed``, whose closed
#: plain port is allowed by ``closed-ok`` (so the lab shows a pass through "closed").
LAB_POLICIES: Mapping[str, HttpsPolicy] = {
    "default": DEFAULT_POLICY,
    "closed-ok": HttpsPolicy(name="closed-ok", plain_http=REDIRECT_OR_CLOSED),
}
LAB_POLICY_OF: Mapping[str, str] = {"http_closed": "closed-ok"}


def policies_for(services: Sequence[WebService],
                 policies: Mapping[str, HttpsPolicy]) -> dict[str, HttpsPolicy]:
    """Service id -> the policy it names (config parsing already checked the names).
    Raises KeyError for a name not in ``policies``."""
    return {s.id: policies[s.policy] for s in services}
