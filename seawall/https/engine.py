"""Gather :class:`~seawall.https.facts.ServiceFacts` for many services at once, with trio.

httpx runs on trio through anyio. Redirects are followed here, hop by hop (never httpx's
``follow_redirects``), so each hop is evidence and each is dialled through the
connect-to overrides: the URL names ``127.0.0.1:<real port>`` while the ``Host`` header,
TLS SNI and certificate verification stay on the nominal name (httpx's ``sni_hostname``
request extension; httpcore checks the certificate against that name).

:func:`classify` is the one place that reads httpx, ssl, trio and errno exceptions.
"""

from __future__ import annotations

import errno
import functools
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import httpx
import trio

from seawall.config.https import HttpsPolicy
from seawall.https.facts import Hop, HttpsReason, ServiceFacts
from seawall.reasons import Reason
from seawall.targets import Overrides, WebService, host_port

_DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "seawall-https-probe/1"
BACKSTOP_GRACE = 1.0  # seconds past the deadline before trio cancels a request


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup) and current.exceptions:
            current = current.exceptions[0]
        else:
            current = current.__cause__ or current.__context__


_ERRNO = {
    errno.ECONNREFUSED: Reason.REFUSED,
    errno.ECONNRESET: Reason.RESET,
    errno.EPIPE: Reason.RESET,
    errno.ETIMEDOUT: Reason.TIMEOUT,
    errno.EHOSTUNREACH: Reason.UNREACHABLE,
    errno.ENETUNREACH: Reason.UNREACHABLE,
    errno.EPERM: Reason.LOCAL_POLICY,
    errno.EACCES: Reason.LOCAL_POLICY,
}


def classify(exc: BaseException) -> str:
    """The reason an attempt failed: a :class:`Reason` or :class:`HttpsReason` value.

    The whole cause chain is searched, most specific cause first (a certificate
    verification error beats the ``BrokenResourceError`` and ``ConnectError`` that anyio
    and httpx wrap it in); anything unrecognised is ``unknown_error`` (its text goes
    into the evidence)."""
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return HttpsReason.CERT_INVALID
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            return Reason.DNS_FAILURE
        if isinstance(cause, ssl.SSLError):
            return HttpsReason.TLS_FAILED
        if isinstance(cause, trio.TooSlowError | TimeoutError | httpx.TimeoutException):
            return Reason.TIMEOUT
        if isinstance(cause, OSError) and cause.errno in _ERRNO:
            return _ERRNO[cause.errno]
    for cause in causes:
        if isinstance(cause, httpx.RemoteProtocolError | httpx.DecodingError):
            return HttpsReason.HTTP_PROTOCOL_ERROR
        if isinstance(cause, httpx.ReadError | httpx.WriteError | trio.BrokenResourceError):
            return Reason.RESET
    return Reason.UNKNOWN_ERROR


def _detail(exc: BaseException) -> str:
    parts = []
    for cause in _causes(exc):
        text = str(cause) or type(cause).__name__
        if text not in parts:
            parts.append(text)
    return "; ".join(parts)[:500]


def host_header(url: httpx.URL) -> str:
    """``host[:port]`` as a browser sends it (the port only when not the default)."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = url.port
    return host if port is None or port == _DEFAULT_PORTS.get(url.scheme) else f"{host}:{port}"


def resolve_location(url: httpx.URL, location: str) -> httpx.URL | None:
    """``location`` resolved against ``url`` (RFC 9110 10.2.2), or None if unusable."""
    try:
        target = url.join(location)
    except (httpx.InvalidURL, ValueError):
        return None
    return target if target.scheme in _DEFAULT_PORTS and target.host else None


class Fetcher:
    """Makes single GET requests through connect-to ``overrides``, until ``deadline``
    (a ``trio.current_time()`` value). One client per trust anchor. With
    ``only_overrides`` (the lab), a (host, port) not in ``overrides`` is not dialled at
    all (``local_policy``): lab names must never reach a real resolver."""

    def __init__(self, clients: Mapping[Path | None, httpx.AsyncClient],
                 overrides: Overrides, *, only_overrides: bool = False) -> None:
        self.clients = clients
        self.overrides = overrides
        self.only_overrides = only_overrides

    async def fetch(self, url: httpx.URL, ca_file: Path | None, deadline: float) -> Hop:
        """One request, never raising for a target's failure: the Hop says why."""
        port = url.port or _DEFAULT_PORTS[url.scheme]
        address, real_port = self.overrides.get((url.host, port), (url.host, port))
        dialled = url.copy_with(host=address, port=real_port)
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        headers = {"Host": host_header(url), "User-Agent": USER_AGENT}
        if self.only_overrides and (url.host, port) not in self.overrides:
            return Hop(url=str(url), dialled="", reason=str(Reason.LOCAL_POLICY),
                       detail=f"{host_port(url.host, port)} has no connect-to override")
        started = trio.current_time()
        hop = Hop(url=str(url), dialled=host_port(address, real_port), reason=str(Reason.TIMEOUT),
                  detail="the per-target deadline passed")
        # httpx's own timeouts end the request (and close its socket: httpcore closes a
        # stream only on Exception, so a trio cancellation mid-handshake would leak it);
        # the trio deadline, a little later, is the backstop for a slow sum of phases.
        remaining = deadline - started
        if remaining <= 0:
            return hop
        with trio.move_on_at(deadline + BACKSTOP_GRACE):
            try:
                async with self.clients[ca_file].stream(
                    "GET", dialled, headers=headers, extensions=extensions,
                    timeout=httpx.Timeout(remaining),
                ) as response:
                    location = response.headers.get("location")
                    nxt = resolve_location(url, location) if location is not None else None
                    hop = Hop(url=str(url), dialled=hop.dialled, status=response.status_code,
                              location=location, next_url=str(nxt) if nxt else None,
                              hsts=tuple(response.headers.get_list("strict-transport-security")))
            except (httpx.HTTPError, OSError, trio.TooSlowError, trio.BrokenResourceError,
                    ssl.SSLError) as exc:
                hop = Hop(url=str(url), dialled=hop.dialled, reason=str(classify(exc)),
                          detail=_detail(exc))
        return Hop(**{**vars(hop), "seconds": trio.current_time() - started})


async def probe(fetcher: Fetcher, service: WebService, policy: HttpsPolicy, *,
                deadline: float, clock: Callable[[], float]) -> ServiceFacts:
    """Facts of one service: the plain-HTTP redirect chain and the direct HTTPS answer,
    both before ``deadline`` (a ``trio.current_time()`` value)."""
    observed_at = clock()
    start = httpx.URL(f"http://{host_port(service.host, service.http_port)}{service.path}")
    direct_url = httpx.URL(
        f"https://{host_port(service.host, service.https_port)}{service.path}")
    chain: list[Hop] = []
    direct: list[Hop] = []

    async def follow() -> None:
        url = start
        for _ in range(policy.max_redirects + 1):
            hop = await fetcher.fetch(url, service.ca_file, deadline)
            chain.append(hop)
            if not hop.redirects or hop.next_url is None:
                return
            url = httpx.URL(hop.next_url)
            if url.scheme != "https" or url.host != service.host.lower():
                return

    async def https() -> None:
        direct.append(await fetcher.fetch(direct_url, service.ca_file, deadline))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow)
        nursery.start_soon(https)
    return ServiceFacts(
        target=service.id, host=service.host, http_port=service.http_port,
        https_port=service.https_port, path=service.path, observed_at=observed_at,
        chain=tuple(chain), direct=direct[0],
    )


def ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """The system trust store plus ``ca_file``; verification and hostname checks on."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


async def gather(
    services: Sequence[WebService], policies: Mapping[str, HttpsPolicy], *,
    overrides: Overrides | None = None, only_overrides: bool = False,
    per_target: float = 5.0, concurrency: int = 50, clock: Callable[[], float] = time.time,
) -> dict[str, ServiceFacts]:
    """Facts for each service, keyed by service id; at most ``concurrency`` services in
    flight, each within ``per_target`` seconds from when its turn comes. ``policies``
    maps a service id to its policy (for ``max_redirects``); ``overrides`` and
    ``only_overrides``: see :class:`Fetcher`.
    Never raises for a service that could not be probed: its facts say why."""
    limiter = trio.CapacityLimiter(concurrency)
    results: dict[str, ServiceFacts] = {}
    timeouts = httpx.Timeout(per_target)
    limits = httpx.Limits(max_keepalive_connections=0)
    clients: dict[Path | None, httpx.AsyncClient] = {}
    broken: dict[Path | None, str] = {}
    try:
        for ca_file in {s.ca_file for s in services}:
            try:
                context = ssl_context(ca_file)
            except (ssl.SSLError, OSError) as exc:  # changed since the config was read
                broken[ca_file] = f"cannot load ca_file {ca_file}: {_detail(exc)}"
                continue
            clients[ca_file] = httpx.AsyncClient(
                verify=context, timeout=timeouts, limits=limits, trust_env=False)
        fetcher = Fetcher(clients, overrides or {}, only_overrides=only_overrides)

        async def one(service: WebService) -> None:
            if service.ca_file in broken:
                results[service.id] = ServiceFacts(
                    target=service.id, host=service.host, http_port=service.http_port,
                    https_port=service.https_port, path=service.path, observed_at=clock(),
                    reason=str(Reason.LOCAL_POLICY), detail=broken[service.ca_file])
                return
            async with limiter:
                deadline = trio.current_time() + per_target
                results[service.id] = await probe(
                    fetcher, service, policies[service.id], deadline=deadline, clock=clock)

        async with trio.open_nursery() as nursery:
            for service in services:
                nursery.start_soon(one, service)
    finally:
        for client in clients.values():
            await client.aclose()
    return results


def gather_sync(
    services: Sequence[WebService], policies: Mapping[str, HttpsPolicy], *,
    overrides: Overrides | None = None, only_overrides: bool = False, timeout: float = 5.0,
    concurrency: int = 50, clock: Callable[[], float] = time.time,
) -> dict[str, ServiceFacts]:
    """:func:`gather` in a fresh trio run (for the suite and tests)."""
    run = functools.partial(gather, services, policies, overrides=overrides,
                            only_overrides=only_overrides, per_target=timeout,
                            concurrency=concurrency, clock=clock)
    results: dict[str, ServiceFacts] = trio.run(run)
    return results
