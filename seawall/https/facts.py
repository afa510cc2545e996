"""What the https suite saw: each hop of a redirect chain, and the HTTPS response.

Facts only, no judgement. A hop that could not be made carries ``reason`` (a
:class:`~seawall.reasons.Reason` or :class:`HttpsReason` value from ``classify``) and a
``detail``; a hop that was made carries its status and the headers that matter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from seawall.model import JSON


class HttpsReason(enum.StrEnum):
    """Reasons of the https suite (unique across suites; see seawall/reasons.py)."""

    CERT_INVALID = "cert_invalid"  # the HTTPS side failed certificate verification
    TLS_FAILED = "tls_failed"  # the TLS handshake failed for another reason
    HTTP_PROTOCOL_ERROR = "http_protocol_error"  # the server's answer was not valid HTTP
    NOT_REDIRECTED = "not_redirected"  # plain HTTP answered without redirecting
    PLAIN_HTTP_CLOSED = "plain_http_closed"  # plain port refused, policy wants a redirect
    REDIRECT_NOT_HTTPS = "redirect_not_https"  # plain HTTP redirected to another http:// URL
    REDIRECT_OFFSITE = "redirect_offsite"  # a redirect pointed to another host
    REDIRECT_DOWNGRADE = "redirect_downgrade"  # an https:// hop redirected back to http://
    REDIRECT_LOOP = "redirect_loop"  # more redirects than the policy allows
    REDIRECT_NO_LOCATION = "redirect_no_location"  # a 3xx without a usable Location
    HSTS_MISSING = "hsts_missing"  # no Strict-Transport-Security header over HTTPS
    HSTS_INVALID = "hsts_invalid"  # the header is there but has no valid max-age
    HSTS_TOO_SHORT = "hsts_too_short"  # max-age below the policy's minimum
    HSTS_NO_SUBDOMAINS = "hsts_no_subdomains"  # includeSubDomains required but absent


#: Statuses that redirect (RFC 9110 15.4); 300/304/305 do not send the client on.
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, kw_only=True)
class Hop:
    """One request: ``url`` as named (nominal host and port), ``dialled`` the
    ``address:port`` actually connected to (after connect-to overrides). Either
    ``status`` (with the ``location`` header as sent, ``next_url`` that location resolved
    against ``url`` when usable, and every Strict-Transport-Security value in ``hsts``)
    or ``reason``/``detail`` when the request could not be made."""

    url: str
    dialled: str
    status: int | None = None
    location: str | None = None
    next_url: str | None = None
    hsts: tuple[str, ...] = ()
    reason: str | None = None
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when an HTTP response was received."""
        return self.status is not None

    @property
    def redirects(self) -> bool:
        """True for a redirect status."""
        return self.status in REDIRECT_STATUSES

    def to_json(self) -> dict[str, JSON]:
        """Plain JSON for evidence."""
        data: dict[str, JSON] = {"url": self.url, "dialled": self.dialled}
        if self.ok:
            data["status"] = self.status
            if self.location is not None:
                data["location"] = self.location
                data["next_url"] = self.next_url
            if self.hsts:
                data["hsts"] = list(self.hsts)
        else:
            data["error"] = self.reason
            data["detail"] = self.detail
        data["seconds"] = round(self.seconds, 4)
        return data


@dataclass(frozen=True, kw_only=True)
class ServiceFacts:
    """Everything seen for one WebService.

    ``chain``: the hops starting at ``http://host:http_port/path``, following same-host
    https redirects up to the policy's ``max_redirects`` (the engine stops at anything
    else; the rules say why). ``direct``: one request to ``https://host:https_port/path``
    without following redirects (where HSTS is read). ``observed_at``: Unix time.
    ``reason``/``detail`` set when the whole probe could not run (the deadline passed).
    """

    target: str
    host: str
    http_port: int
    https_port: int
    path: str
    observed_at: float
    chain: tuple[Hop, ...] = ()
    direct: Hop | None = None
    reason: str | None = None
    detail: str = ""
