"""``[https]``: HTTPS-enforcement services and the policies they are judged by.

::

    [https]
    timeout = 5            # per-service deadline, seconds (default: [seawall] timeout)
    concurrency = 50       # services probed at once (default: [seawall] concurrency)

    [https.policies.public]
    plain_http = "redirect"              # or "redirect_or_closed"
    hsts_min_age = 31536000              # seconds; RFC 6797 max-age must be at least this
    require_include_subdomains = false
    max_redirects = 5

    [[https.services]]
    host = "www.example.com"
    http_port = 80
    https_port = 443
    path = "/"
    policy = "public"
    ca_file = "ca.pem"     # extra trust anchor, relative to this file
    name = "website"

A policy named ``default`` always exists (the values above); a file may redefine it.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from seawall.config.reader import Table
from seawall.targets import WebService

#: ``plain_http`` values: what the plain-HTTP port may do.
REDIRECT = "redirect"
REDIRECT_OR_CLOSED = "redirect_or_closed"
PLAIN_HTTP_CHOICES = (REDIRECT, REDIRECT_OR_CLOSED)
ONE_YEAR = 31536000


@dataclass(frozen=True, kw_only=True)
class HttpsPolicy:
    """What a service must do. ``plain_http``: ``redirect`` (plain HTTP must redirect to
    https on the same host) or ``redirect_or_closed`` (a refused plain port is fine too);
    ``hsts_min_age``: the least Strict-Transport-Security max-age in seconds;
    ``require_include_subdomains``: HSTS must carry includeSubDomains;
    ``max_redirects``: redirects followed before the chain counts as a loop."""

    name: str = "default"
    plain_http: str = REDIRECT
    hsts_min_age: int = ONE_YEAR
    require_include_subdomains: bool = False
    max_redirects: int = 5


DEFAULT_POLICY = HttpsPolicy()


@dataclass(frozen=True, kw_only=True)
class HttpsConfig:
    """Settings of the https suite. ``timeout``/``concurrency`` None: use ``[seawall]``'s."""

    timeout: float | None = None
    concurrency: int | None = None
    policies: Mapping[str, HttpsPolicy] = field(
        default_factory=lambda: {"default": DEFAULT_POLICY})
    services: tuple[WebService, ...] = ()


def _policy(name: str, t: Table) -> HttpsPolicy:
    d = DEFAULT_POLICY
    policy = HttpsPolicy(
        name=name,
        plain_http=t.text("plain_http", d.plain_http, choices=PLAIN_HTTP_CHOICES),
        hsts_min_age=t.integer("hsts_min_age", d.hsts_min_age, minimum=0),
        require_include_subdomains=t.flag(
            "require_include_subdomains", d.require_include_subdomains),
        max_redirects=t.integer("max_redirects", d.max_redirects, minimum=1, maximum=30),
    )
    t.done()
    return policy


def _service(t: Table, base: Path, policies: Mapping[str, HttpsPolicy]) -> WebService:
    host = t.host("host")
    path = t.text("path", "/")
    if not path.startswith("/"):
        raise t.error("path", f"{path!r} does not start with '/'", "use an absolute path like /")
    policy = t.text("policy", "default")
    if policy not in policies:
        known = ", ".join(sorted(policies))
        raise t.error("policy", f"{policy!r} is not a defined policy",
                      f"define [https.policies.{policy}] or use one of: {known}")
    ca_file = t.path_value("ca_file", None, base=base)
    if ca_file is not None:
        _check_pem(t, ca_file)
    service = WebService(
        host=host, http_port=t.port("http_port", 80), https_port=t.port("https_port", 443),
        path=path, policy=policy, ca_file=ca_file, name=t.text("name", ""),
    )
    if service.http_port == service.https_port:
        raise t.error("http_port", f"{service.http_port} is also the https_port",
                      "plain HTTP and HTTPS need different ports")
    t.done()
    return service


def _check_pem(t: Table, path: Path) -> None:
    """A ca_file must hold at least one PEM certificate OpenSSL accepts as a trust anchor
    (caught here, once, rather than as a failed probe of every service using it)."""
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(path))
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or exc
        raise t.error("ca_file", f"{t.raw['ca_file']!r} holds no usable PEM certificate: {reason}",
                      "give a PEM file with the CA certificate(s) to trust") from None


def parse(t: Table, base: Path) -> HttpsConfig:
    """Read the ``[https]`` table; raise ConfigError naming the key for bad input."""
    timeout = t.number("timeout", None, minimum=0.05, maximum=600)
    concurrency = t.integer("concurrency", None, minimum=1, maximum=100000)
    policies = {"default": DEFAULT_POLICY}
    for name, table in t.named_tables("policies"):
        policies[name] = _policy(name, table)
    services: list[WebService] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(t.tables("services")):
        service = _service(table, base, policies)
        if service.id in seen:
            raise table.error("host", f"service {service.id} is already defined",
                              f"remove the duplicate of https.services[{seen[service.id]}]")
        seen[service.id] = i
        services.append(service)
    t.done()
    return HttpsConfig(timeout=timeout, concurrency=concurrency, policies=policies,
                       services=tuple(services))
