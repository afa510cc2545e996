"""Configuration: one TOML file -> frozen, typed sections. Unknown keys are errors.

Where the file comes from, first match wins: ``--seawall-config PATH`` (pytest) or
``--config PATH`` (``seawall``), the ``SEAWALL_CONFIG`` environment variable,
``./seawall.toml``; with none of them Seawall probes its embedded lab (``Config.lab``).

Each top-level table has its own module and parser: ``[seawall]`` (general), ``[tls]``,
``[https]``, ``[isolation]``, ``[at_rest]``, ``[datadog]``, ``[clients]``, ``[claims]``.
A bad value raises :class:`~seawall.errors.ConfigError` naming the file, the key and the fix.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from seawall.config import at_rest as _at_rest
from seawall.config import clients as _clients
from seawall.config import datadog as _datadog
from seawall.config import general as _general
from seawall.config import https as _https
from seawall.config import isolation as _isolation
from seawall.config import tls as _tls
from seawall.config.reader import Table
from seawall.errors import ConfigError

ENV_VAR = "SEAWALL_CONFIG"
DEFAULT_FILE = "seawall.toml"
LAB_SOURCE = "embedded lab"


@dataclass(frozen=True, kw_only=True)
class Config:
    """The whole configuration. ``lab`` is true when no file was given: suites then
    probe their embedded lab. ``source`` is the file path (or ``embedded lab``)."""

    source: str = LAB_SOURCE
    lab: bool = True
    general: _general.GeneralConfig = field(default_factory=_general.GeneralConfig)
    tls: _tls.TlsConfig = field(default_factory=_tls.TlsConfig)
    https: _https.HttpsConfig = field(default_factory=_https.HttpsConfig)
    isolation: _isolation.IsolationConfig = field(default_factory=_isolation.IsolationConfig)
    at_rest: _at_rest.AtRestConfig = field(default_factory=_at_rest.AtRestConfig)
    datadog: _datadog.DatadogConfig = field(default_factory=_datadog.DatadogConfig)
    clients: _clients.ClientsConfig = field(default_factory=_clients.ClientsConfig)
    claims: Mapping[str, str] = field(default_factory=dict)


def locate(explicit: str | None = None, *, flag: str = "--seawall-config") -> str | None:
    """The config file to use, or None for the embedded lab. An explicit path or
    ``SEAWALL_CONFIG`` that does not exist is an error; a missing ./seawall.toml is not."""
    for value, origin in ((explicit, flag), (os.environ.get(ENV_VAR), ENV_VAR)):
        if value:
            if not Path(value).is_file():
                raise ConfigError(origin, "", f"{value!r} is not a readable file",
                                  f"check the path given to {origin}")
            return value
    return DEFAULT_FILE if Path(DEFAULT_FILE).is_file() else None


def load(path: str | None) -> Config:
    """Parse the file at ``path`` (None: the embedded lab's default config)."""
    if path is None:
        return Config()
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror or exc}",
                          "check the path and its permissions") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML: {exc}",
                          "fix the syntax at the line shown") from None
    return parse(raw, source=path, base=Path(path).resolve().parent)


def parse(raw: Mapping[str, object], *, source: str, base: Path) -> Config:
    """Build a Config from an already parsed TOML document."""
    root = Table(raw, source=source)
    config = Config(
        source=source,
        lab=False,
        general=_general.parse(root.table("seawall"), base),
        tls=_tls.parse(root.table("tls"), base),
        https=_https.parse(root.table("https"), base),
        isolation=_isolation.parse(root.table("isolation"), base),
        at_rest=_at_rest.parse(root.table("at_rest"), base),
        datadog=_datadog.parse(root.table("datadog"), base),
        clients=_clients.parse(root.table("clients"), base),
        claims=_claims(root.table("claims")),
    )
    root.done()
    return config


def _claims(table: Table) -> dict[str, str]:
    claims = {}
    for check in list(table.raw):
        if "." not in check:
            raise table.error(
                check, "is not a check id", "use '<suite>.<promise>', e.g. tls.min_version"
            )
        claims[check] = table.text(check)
    table.done()
    return claims
