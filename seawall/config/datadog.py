"""``[datadog]``: where and how results go to Datadog. Secrets never live here.

The API key comes only from ``DD_API_KEY`` (and the application key for
``seawall monitors push`` only from ``DD_APP_KEY``); a key in the file is a config error,
because config files end up in repositories and images. ``site`` defaults to
``DD_SITE`` then ``datadoghq.com``; it may also be a full ``https://`` URL (a proxy, or
the local intake in tests). ``service``, ``team`` and ``location`` become tags; ``env``
defaults to ``DD_ENV`` then ``[seawall] env``. Spool limits bound what is kept while
Datadog cannot be reached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from seawall.config.reader import Table

SECRET_WORDS = ("api_key", "app_key", "application_key", "apikey", "appkey")
_SITE = re.compile(r"^(https?://[A-Za-z0-9.:\[\]-]+/?|[a-z0-9.-]+\.[a-z]{2,})$")


@dataclass(frozen=True, kw_only=True)
class DatadogConfig:
    """Settings of the Datadog reporter.

    ``site``/``env``/``team``/``location``: empty means "from the environment or
    ``[seawall]``". ``host_name`` is the explicit host every payload carries (the HTTP
    API requires one and the client adds none); empty means ``seawall-<location>``.
    ``timeout`` is seconds per request, ``spool_max_files``/``spool_max_bytes`` bound
    the spool, ``ca_file`` is an extra CA bundle to trust (a TLS-inspecting proxy, the
    test intake), ``monitors_dir`` where ``seawall monitors`` reads monitor bodies.
    """

    site: str = ""
    env: str = ""
    service: str = "seawall"
    team: str = ""
    location: str = ""
    host_name: str = ""
    timeout: float = 10.0
    delivery_budget: float = 20.0  # seconds of delivery per run in all (seawall.report.delivery)
    spool_max_files: int = 500
    spool_max_bytes: int = 50_000_000
    ca_file: Path | None = None
    monitors_dir: Path = Path("monitors")


def parse(t: Table, base: Path) -> DatadogConfig:
    """Read the ``[datadog]`` table. A secret in the file is rejected with the fix."""
    for key in list(t.raw):
        lowered = key.lower().replace("-", "_")
        if any(word in lowered for word in SECRET_WORDS):
            t.has(key)
            env = "DD_APP_KEY" if "app" in lowered else "DD_API_KEY"
            raise t.error(key, "secrets are not read from the config file",
                          f"remove it and set the {env} environment variable")
    default = DatadogConfig()
    site = t.text("site", default.site)
    if site and not _SITE.match(site):
        raise t.error("site", f"{site!r} is not a Datadog site",
                      "use a site like datadoghq.eu or us5.datadoghq.com, or an https:// URL")
    monitors = t.text("monitors_dir", None)
    config = DatadogConfig(
        site=site,
        env=t.text("env", default.env),
        service=t.text("service", default.service),
        team=t.text("team", default.team),
        location=t.text("location", default.location),
        host_name=t.host("host_name", default.host_name),
        timeout=t.number("timeout", default.timeout, minimum=0.1, maximum=120),
        delivery_budget=t.number("delivery_budget", default.delivery_budget, minimum=1,
                                 maximum=600),
        spool_max_files=t.integer("spool_max_files", default.spool_max_files, minimum=1),
        spool_max_bytes=t.integer("spool_max_bytes", default.spool_max_bytes, minimum=10_000),
        ca_file=t.path_value("ca_file", None, base=base),
        monitors_dir=(base / monitors) if monitors else default.monitors_dir,
    )
    t.done()
    return config
