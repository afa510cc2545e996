"""The lab's catalogue: each case's name, host and the plain facts of how it is served.

Facts only, no judgements: which TLS versions a server enables, what its certificate
is, what its HTTP ports answer. The suites own their policies and expected outcomes.
Host names are ``<case-with-dashes>.lab.seawall.test`` on nominal port 443 (80 for
plain HTTP); the running lab maps them to loopback ports (:attr:`Lab.overrides`).
"""

from __future__ import annotations

from dataclasses import dataclass

DOMAIN = "lab.seawall.test"
#: The host ``redirect_offsite`` sends its visitors to; the lab serves it (good HTTPS).
OFFSITE_HOST = f"evil.{DOMAIN}"
HSTS_GOOD = "max-age=31536000; includeSubDomains"
MODERN = ("TLSv1.2", "TLSv1.3")
LEGACY = ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def host_of(name: str) -> str:
    """The DNS name of case ``name``: underscores become dashes (valid DNS labels)."""
    return f"{name.replace('_', '-')}.{DOMAIN}"


@dataclass(frozen=True, kw_only=True)
class LabCase:
    """One lab target and the facts of how the lab serves it.

    ``listener``: ``tls`` (TLS, then a tiny HTTP/1.1 server), ``https`` (an HTTP case:
    see the ``http_*``/``https_*`` fields), ``garbage`` (plain TCP answering HTTP 400),
    ``hanging`` (accepts, never sends, never closes), ``reset`` (accepts, then RST) or
    ``closed`` (nothing listens: connections are refused).

    Certificate facts: ``cert_names`` (SAN DNS names), ``key``, ``signature_hash``,
    ``issuer`` (``intermediate``/``root``/``self``/``untrusted``), ``sends_intermediate``,
    validity as days relative to the lab's start (``valid_from_days``, ``valid_until_days``).
    TLS facts: ``versions`` enabled on the server (named as in seawall.config.tls:
    ``TLSv1.0`` .. ``TLSv1.3``), ``ciphers`` (the OpenSSL cipher string
    set for TLS <= 1.2, empty for OpenSSL's default), ``alpn`` offered, ``ocsp_stapled``
    (a "good" OCSP response is stapled when the client asks for one).
    HTTP facts (``listener == "https"``): ``http_port`` (None: nothing listens on plain
    HTTP), ``http_status``/``http_location`` and ``https_status``/``https_location`` for
    ``GET /``, ``hsts`` (the Strict-Transport-Security value sent over HTTPS, None: absent).
    """

    name: str
    description: str
    host: str = ""
    listener: str = "tls"
    port: int = 443
    versions: tuple[str, ...] = MODERN
    ciphers: str = ""
    alpn: tuple[str, ...] = ()
    cert_names: tuple[str, ...] = ()
    key: str = "ec256"
    signature_hash: str = "sha256"
    issuer: str = "intermediate"
    sends_intermediate: bool = True
    valid_from_days: int = -1
    valid_until_days: int = 90
    http_port: int | None = None
    http_status: int | None = None
    http_location: str | None = None
    https_status: int | None = None
    https_location: str | None = None
    hsts: str | None = None
    ocsp_stapled: bool = False

    def __post_init__(self) -> None:
        if not self.host:
            object.__setattr__(self, "host", host_of(self.name))
        if not self.cert_names and self.listener in ("tls", "https"):
            object.__setattr__(self, "cert_names", (self.host,))

    @property
    def has_certificate(self) -> bool:
        """True when the case serves TLS (and so has certificate facts)."""
        return self.listener in ("tls", "https")


def _tls(name: str, description: str, **facts: object) -> LabCase:
    return LabCase(name=name, description=description, **facts)  # type: ignore[arg-type]


_NO_CERT = {"versions": (), "key": "", "signature_hash": "", "issuer": "",
            "sends_intermediate": False, "valid_from_days": 0, "valid_until_days": 0}
SECLEVEL0 = "DEFAULT:@SECLEVEL=0"

TLS_CASES: dict[str, LabCase] = {c.name: c for c in (
    _tls("good13", "TLS 1.3 only, EC P-256 leaf via the intermediate", versions=("TLSv1.3",)),
    _tls("good12", "TLS 1.2 and 1.3, EC P-256 leaf via the intermediate"),
    _tls("only12", "TLS 1.2 only, ECDHE with AEAD suites", versions=("TLSv1.2",),
         ciphers="ECDHE+AESGCM:ECDHE+CHACHA20"),
    _tls("legacy", "TLS 1.0 to 1.3 (OpenSSL security level 0)", versions=LEGACY,
         ciphers=SECLEVEL0),
    _tls("expired", "certificate expired 10 days ago", valid_from_days=-100,
         valid_until_days=-10),
    _tls("not_yet_valid", "certificate valid from 10 days in the future",
         valid_from_days=10, valid_until_days=100),
    _tls("expiring_soon", "certificate expires in 20 days", valid_until_days=20),
    _tls("wrong_host", "certificate names another host",
         cert_names=(f"somewhere-else.{DOMAIN}",)),
    _tls("self_signed", "self-signed leaf", issuer="self", sends_intermediate=False),
    _tls("untrusted_root", "leaf signed by a root the probes do not trust",
         issuer="untrusted", sends_intermediate=False),
    _tls("missing_intermediate", "server sends the leaf without its intermediate",
         sends_intermediate=False),
    _tls("rsa1024", "RSA 1024-bit leaf key (OpenSSL security level 0)", key="rsa1024",
         ciphers=SECLEVEL0),
    _tls("sha1", "leaf signed with ECDSA-SHA1 (OpenSSL security level 0)",
         signature_hash="sha1", ciphers=SECLEVEL0),
    _tls("weak_cipher", "TLS 1.2 only, static-RSA CBC suite AES128-SHA, RSA 2048 leaf",
         versions=("TLSv1.2",), ciphers="AES128-SHA", key="rsa2048"),
    _tls("alpn", "TLS 1.2 and 1.3, offers ALPN h2 and http/1.1", alpn=("h2", "http/1.1")),
    _tls("ocsp", "TLS 1.2 and 1.3, staples a good OCSP response (openssl s_server)",
         ocsp_stapled=True),
    LabCase(name="no_tls", description="plain TCP: answers any bytes with HTTP 400",
            listener="garbage", **_NO_CERT),  # type: ignore[arg-type]
    LabCase(name="hanging", description="accepts TCP, never sends a byte, never closes",
            listener="hanging", **_NO_CERT),  # type: ignore[arg-type]
    LabCase(name="reset", description="accepts TCP, then resets (SO_LINGER 0)",
            listener="reset", **_NO_CERT),  # type: ignore[arg-type]
    LabCase(name="closed", description="nothing listens: connections are refused",
            listener="closed", **_NO_CERT),  # type: ignore[arg-type]
)}


def _web(name: str, description: str, *, http: tuple[int, str | None] | None,
         https: tuple[int, str | None], hsts: str | None = HSTS_GOOD) -> LabCase:
    host = host_of(name)

    def absolute(location: str | None) -> str | None:
        return location.format(host=host) if location else None

    return LabCase(
        name=name, description=description, listener="https",
        http_port=80 if http else None,
        http_status=http[0] if http else None, http_location=absolute(http[1]) if http else None,
        https_status=https[0], https_location=absolute(https[1]), hsts=hsts)


HTTP_CASES: dict[str, LabCase] = {c.name: c for c in (
    _web("redirect_ok", "HTTP 301 to https://same-host/; HTTPS 200 with a 1-year HSTS",
         http=(301, "https://{host}/"), https=(200, None)),
    _web("plain_ok", "HTTP 200 without a redirect; HTTPS 200 with HSTS",
         http=(200, None), https=(200, None)),
    _web("hsts_missing", "HTTP 301 to HTTPS; HTTPS 200 without HSTS",
         http=(301, "https://{host}/"), https=(200, None), hsts=None),
    _web("hsts_short", "HTTP 301 to HTTPS; HTTPS 200 with HSTS max-age=3600",
         http=(301, "https://{host}/"), https=(200, None), hsts="max-age=3600"),
    _web("redirect_offsite", f"HTTP 301 to https://{OFFSITE_HOST}/ (another host)",
         http=(301, f"https://{OFFSITE_HOST}/"), https=(200, None)),
    _web("redirect_downgrade", "HTTP 301 to HTTPS, whose 302 goes back to http://same-host/",
         http=(301, "https://{host}/"), https=(302, "http://{host}/")),
    _web("redirect_loop", "HTTP 301 to HTTPS, whose 302 points to itself forever",
         http=(301, "https://{host}/"), https=(302, "https://{host}/")),
    _web("http_closed", "nothing listens on plain HTTP; HTTPS 200 with HSTS",
         http=None, https=(200, None)),
)}

#: Served alongside ``redirect_offsite`` (not a probe target of its own).
OFFSITE = LabCase(name="offsite", description="where redirect_offsite points: good HTTPS",
                  host=OFFSITE_HOST, listener="https", https_status=200, hsts=HSTS_GOOD)

ALL_CASES: dict[str, LabCase] = {**TLS_CASES, **HTTP_CASES}
