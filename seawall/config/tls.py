"""``[tls]``: timeout, concurrency, named policies and the endpoints to probe.

::

    [tls]
    timeout = 5          # seconds per target, all attempts included (default: [seawall])
    concurrency = 100    # targets probed at once (default: [seawall])

    [tls.policies.public-api]
    min_version = "TLSv1.3"          # or versions = ["TLSv1.2", "TLSv1.3"]
    require_forward_secrecy = true
    cert_warn_days = 30
    cert_fail_days = 14

    [[tls.targets]]
    host = "api.example.com"
    port = 443
    policy = "public-api"

Built-in policies (a table of the same name replaces one): ``default`` (TLS 1.2 or
newer), ``modern`` (TLS 1.3 only), ``strict`` (TLS 1.2 or newer, forward-secret AEAD
suites only). The policy dataclass lives here because config may not import suites;
:mod:`seawall.tls.policy` re-exports it with the helpers rules use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from seawall.config.reader import Table
from seawall.targets import Endpoint

#: Protocol versions, oldest first; the names used in config, facts and summaries.
VERSIONS = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
SIGNATURE_HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
_POLICY_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True, kw_only=True)
class TlsPolicy:
    """What an endpoint must satisfy. ``versions`` is the set of protocol versions it may
    accept (oldest first); an accepted version older than all of them is
    ``protocol_too_old``, any other accepted version outside them ``protocol_not_allowed``.
    Certificate thresholds are in days (warn below ``cert_warn_days``, fail below
    ``cert_fail_days``); key sizes in bits; ``forbidden_signature_hashes`` name hashes
    a certificate of the chain must not be signed with."""

    name: str
    versions: tuple[str, ...] = ("TLSv1.2", "TLSv1.3")
    require_forward_secrecy: bool = False
    require_aead: bool = False
    cert_warn_days: int = 30
    cert_fail_days: int = 14
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    forbidden_signature_hashes: tuple[str, ...] = ("md5", "sha1")

    @property
    def min_version(self) -> str:
        """The oldest allowed version."""
        return self.versions[0]

    def describe_versions(self) -> str:
        """``>= TLSv1.2``, ``TLSv1.3 only``, ``TLSv1.0 to TLSv1.2`` or a list, for summaries."""
        span = VERSIONS[VERSIONS.index(self.versions[0]):VERSIONS.index(self.versions[-1]) + 1]
        if len(self.versions) == 1:
            return f"{self.versions[0]} only"
        if self.versions == span:
            if self.versions[-1] == VERSIONS[-1]:
                return f">= {self.versions[0]}"
            return f"{self.versions[0]} to {self.versions[-1]}"
        return " or ".join(self.versions)


BUILTIN_POLICIES: Mapping[str, TlsPolicy] = MappingProxyType({
    "default": TlsPolicy(name="default"),
    "modern": TlsPolicy(name="modern", versions=("TLSv1.3",), require_forward_secrecy=True,
                        require_aead=True),
    "strict": TlsPolicy(name="strict", require_forward_secrecy=True, require_aead=True),
})


@dataclass(frozen=True, kw_only=True)
class TlsConfig:
    """Settings of the tls suite: ``timeout`` seconds per target (every attempt on it
    included), ``concurrency`` targets in flight (None: ``[seawall]``'s value),
    ``policies`` by name (built-ins included), ``targets`` the configured endpoints
    (empty: none configured)."""

    timeout: float | None = None
    concurrency: int | None = None
    policies: Mapping[str, TlsPolicy] = field(default_factory=lambda: BUILTIN_POLICIES)
    targets: tuple[Endpoint, ...] = ()


def parse(t: Table, base: Path) -> TlsConfig:
    """Read the ``[tls]`` table; raise ConfigError naming file, key and fix."""
    timeout = t.number("timeout", None, minimum=0.05, maximum=600)
    concurrency = t.integer("concurrency", None, minimum=1, maximum=100000)
    policies = dict(BUILTIN_POLICIES)
    for name, table in t.named_tables("policies"):
        if not _POLICY_NAME.match(name):
            raise t.error(f"policies.{name}", "is not a policy name",
                          "use lowercase letters, digits, '-' and '_'")
        policies[name] = _policy(name, table)
    targets: list[Endpoint] = []
    seen: dict[str, str] = {}
    for table in t.tables("targets"):
        target = _target(table, base, policies)
        if target.id in seen:
            raise table.error("host", f"target {target.id!r} is defined twice "
                              f"(also {seen[target.id]})",
                              "give each target a distinct host, port or sni")
        seen[target.id] = table.path
        targets.append(target)
    t.done()
    return TlsConfig(timeout=timeout, concurrency=concurrency,
                     policies=MappingProxyType(policies), targets=tuple(targets))


def _policy(name: str, t: Table) -> TlsPolicy:
    base = BUILTIN_POLICIES["default"]
    if t.has("versions") and (t.has("min_version") or t.has("max_version")):
        raise t.error("versions", "cannot be combined with min_version or max_version",
                      "give either versions = [...] or min_version/max_version")
    versions = t.str_list("versions", None)
    if versions is not None:
        for i, version in enumerate(versions):
            if version not in VERSIONS:
                raise t.error(f"versions[{i}]", f"{version!r} is not one of "
                              + ", ".join(repr(v) for v in VERSIONS))
        if not versions:
            raise t.error("versions", "is empty", "list at least one version")
        versions = tuple(v for v in VERSIONS if v in versions)
    else:
        low = t.text("min_version", base.versions[0], choices=VERSIONS)
        high = t.text("max_version", VERSIONS[-1], choices=VERSIONS)
        if VERSIONS.index(low) > VERSIONS.index(high):
            raise t.error("max_version", f"{high!r} is older than min_version {low!r}",
                          "max_version must be the same as or newer than min_version")
        versions = VERSIONS[VERSIONS.index(low):VERSIONS.index(high) + 1]
    warn = t.integer("cert_warn_days", base.cert_warn_days, minimum=0, maximum=3650)
    fail = t.integer("cert_fail_days", base.cert_fail_days, minimum=0, maximum=3650)
    if fail > warn:
        raise t.error("cert_fail_days", f"{fail} is more than cert_warn_days {warn}",
                      "the fail threshold must not exceed the warn threshold")
    hashes = t.str_list("forbidden_signature_hashes", base.forbidden_signature_hashes)
    for i, item in enumerate(hashes):
        if item not in SIGNATURE_HASHES:
            raise t.error(f"forbidden_signature_hashes[{i}]", f"{item!r} is not one of "
                          + ", ".join(repr(h) for h in SIGNATURE_HASHES))
    policy = TlsPolicy(
        name=name,
        versions=versions,
        require_forward_secrecy=t.flag("require_forward_secrecy", base.require_forward_secrecy),
        require_aead=t.flag("require_aead", base.require_aead),
        cert_warn_days=warn,
        cert_fail_days=fail,
        min_rsa_bits=t.integer("min_rsa_bits", base.min_rsa_bits, minimum=512, maximum=16384),
        min_ec_bits=t.integer("min_ec_bits", base.min_ec_bits, minimum=160, maximum=521),
        forbidden_signature_hashes=tuple(hashes),
    )
    t.done()
    return policy


def _target(t: Table, base: Path, policies: Mapping[str, TlsPolicy]) -> Endpoint:
    host = t.host("host")
    port = t.port("port", 443)
    sni = t.host("sni", None)
    policy = t.text("policy", "default")
    if policy not in policies:
        raise t.error("policy", f"{policy!r} is not a defined policy",
                      "defined: " + ", ".join(sorted(policies)))
    ca_file = t.path_value("ca_file", None, base=base)
    client_cert = t.path_value("client_cert", None, base=base)
    client_key = t.path_value("client_key", None, base=base)
    if (client_cert is None) != (client_key is None):
        missing = "client_key" if client_key is None else "client_cert"
        raise t.error(missing, "is required with " + ("client_cert" if client_key is None
                                                     else "client_key"),
                      "give both client_cert and client_key for mTLS, or neither")
    name = t.text("name", "")
    t.done()
    return Endpoint(host=host, port=port, policy=policy, sni=sni, ca_file=ca_file,
                    client_cert=client_cert, client_key=client_key, name=name)
