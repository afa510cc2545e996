"""Gathers TLS facts for many endpoints at once (trio), with as few handshakes as the
checks need, and the one :func:`classify` that turns exceptions into reasons.

Per target, within one ``timeout`` deadline (every attempt included):

1. resolve (an override from :data:`seawall.targets.Overrides` wins, like curl --resolve);
2. ONE unverified handshake offering TLS 1.0-1.3, every cipher and ALPN h2/http/1.1:
   the server's best version, its cipher and ALPN, and the whole chain it sent, which
   :mod:`seawall.tls.x509` verifies offline, so that an expired or untrusted
   certificate is reported as such, never as "down";
3. older versions by descending caps, as sslyze and testssl narrow them: offer TLS 1.0
   up to (last negotiated - 1); the server answers with its best version in that range
   (accepted, with its cipher; the versions between are refused by negotiation) or
   refuses, which proves every version in the range refused, so we stop. A 1.3-only
   server costs 2 handshakes (was 4), a 1.2+1.3 one 3. Newer versions than the best
   need no attempt: offered up to 1.3, the server picked its best (RFC 8446 4.2.1).
   The main handshake already showed the server tolerates a 0x0303 client version, so
   a lower cap cannot trip version intolerance. An answer that says nothing (our own
   library refused: ``local_policy``; or an unknown error) falls back to one pinned
   handshake (min=max) per version of that range; a timeout is never a refusal;
4. hand-built hellos (:mod:`seawall.tls.hello`) for what OpenSSL 3 cannot offer: SSLv3
   (always), RC4/3DES/export/NULL suites (when TLS <= 1.2 is accepted), and OCSP
   stapling (when TLS 1.2 is accepted). ``raw_hellos=False`` leaves them out.

A refusal by our own library (it never sent the ClientHello, or refused the answer by
local rules) is ``local_policy``: inconclusive, never "the server refused".

The chain comes from ``SSLObject._sslobj.get_unverified_chain()``: private on 3.10-3.12
(public from 3.13), present on our 3.11.7 (measured), and it returns exactly what the
server sent, from the same handshake that gave the version and cipher; parsing the TLS
1.2 Certificate message by hand would cost a second (raw) handshake and does not work
for TLS 1.3, where the Certificate message is encrypted.

How one handshake is made, and the probing contexts, live in :mod:`seawall.tls.transport`.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trio  # type: ignore[import-untyped,unused-ignore]  # trio 0.22: no py.typed

from seawall.reasons import Reason
from seawall.targets import Endpoint, Overrides, host_port
from seawall.tls import hello as raw
from seawall.tls import x509 as x509_analysis
from seawall.tls.facts import Attempt, TlsFacts, TlsReason
from seawall.tls.transport import (
    TLS_VERSIONS,
    LocalSetupError,
    _Handshake,
    _handshake,
    client_context,
)

# OpenSSL reasons meaning OUR library refused (before sending, or after the server's
# answer by local rules): never a refusal by the server.
_LOCAL = {"NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "NO_CIPHER_MATCH",
          "UNSAFE_LEGACY_RENEGOTIATION_DISABLED", "DH_KEY_TOO_SMALL", "EE_KEY_TOO_SMALL",
          "CA_KEY_TOO_SMALL", "CA_MD_TOO_WEAK", "LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED",
          "VERSION_TOO_LOW", "INSUFFICIENT_SECURITY"}
# The peer answered with bytes that are not a TLS record.
_NOT_TLS = {"WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST",
            "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL", "RECORD_LENGTH_MISMATCH"}
# In a pinned-version attempt the server already proved it speaks TLS: these mean "no".
_REFUSALS = {TlsReason.HANDSHAKE_FAILED, TlsReason.CLOSED_IN_HANDSHAKE, Reason.RESET,
             TlsReason.NOT_TLS}


def classify(exc: BaseException) -> tuple[str, str]:
    """(reason, detail) for an exception raised while probing: the only place that
    looks at errno values, ssl error names and trio exceptions."""
    if isinstance(exc, trio.TooSlowError):
        return Reason.TIMEOUT, "no answer within the deadline"
    if isinstance(exc, LocalSetupError):
        return Reason.LOCAL_POLICY, str(exc)
    cause: BaseException = exc
    # trio wraps ssl errors in BrokenResourceError, and open_tcp_stream's "all attempts
    # failed" OSError carries the last attempt's error as its cause.
    while (isinstance(cause, trio.BrokenResourceError | trio.ClosedResourceError)
           or type(cause) is OSError or isinstance(cause, BaseExceptionGroup)):
        if isinstance(cause, BaseExceptionGroup):
            cause = cause.exceptions[-1]
        elif cause.__cause__ is not None:
            cause = cause.__cause__
        else:
            break
    if isinstance(cause, socket.gaierror):
        return Reason.DNS_FAILURE, str(cause)
    if isinstance(cause, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return TlsReason.CLOSED_IN_HANDSHAKE, "the server closed the connection in the handshake"
    if isinstance(cause, ssl.SSLError):
        name = cause.reason or ""
        detail = f"{cause.library or 'SSL'}: {name or cause}"
        if name in _LOCAL:
            return Reason.LOCAL_POLICY, f"our TLS library refused: {detail}"
        if name in _NOT_TLS:
            return TlsReason.NOT_TLS, f"the answer is not TLS ({detail})"
        if "EOF" in name:
            return TlsReason.CLOSED_IN_HANDSHAKE, detail
        return TlsReason.HANDSHAKE_FAILED, detail
    if isinstance(cause, trio.BrokenResourceError | trio.ClosedResourceError):
        return TlsReason.CLOSED_IN_HANDSHAKE, "the server closed the connection in the handshake"
    if isinstance(cause, ConnectionRefusedError):
        return Reason.REFUSED, "connection refused"
    if isinstance(cause, ConnectionResetError | BrokenPipeError):
        return Reason.RESET, "connection reset by the server"
    if isinstance(cause, OSError):
        if cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return Reason.UNREACHABLE, cause.strerror or str(cause)
        if cause.errno in (errno.EPERM, errno.EACCES):
            return Reason.NOT_PERMITTED, cause.strerror or str(cause)
        if cause.errno == errno.ETIMEDOUT:
            return Reason.TIMEOUT, "connect timed out"
        return Reason.UNKNOWN_ERROR, f"{type(cause).__name__}: {cause}"
    return Reason.UNKNOWN_ERROR, f"{type(cause).__name__}: {cause}"


@dataclass
class EngineStats:
    """Counters for tests and benchmarks: targets in flight now and at most, handshakes."""

    in_flight: int = 0
    max_in_flight: int = 0
    handshakes: int = 0
    hellos: int = 0
    per_target: dict[str, int] = field(default_factory=dict)


async def _resolve(endpoint: Endpoint, overrides: Overrides) -> tuple[str, int]:
    if (endpoint.host, endpoint.port) in overrides:
        return overrides[(endpoint.host, endpoint.port)]
    infos = await trio.socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    address: str = infos[0][4][0]
    return address, endpoint.port


_FAILURES = (OSError, trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError,
             LocalSetupError)


class _TargetProbe:
    """The attempts on one endpoint and what they found so far (one per target)."""

    def __init__(self, endpoint: Endpoint, address: tuple[str, int], budget: float) -> None:
        self.endpoint = endpoint
        self.name = endpoint.server_name
        self.address = address
        self.budget = budget
        self.attempts: dict[str, Attempt] = {}
        self.handshakes = self.hellos = 0
        self.legacy: Attempt | None = None
        self.stapled: bool | None = None

    def context(self, ceiling: str | None, floor: str = "TLSv1.0") -> ssl.SSLContext:
        return client_context(ceiling, self.endpoint.client_cert, self.endpoint.client_key,
                              floor=floor)

    async def best(self) -> _Handshake:
        """The main handshake: everything offered, the chain kept."""
        self.handshakes += 1
        main = await _handshake(self.address, self.context(None), self.name, want_chain=True)
        self.attempts[main.version] = Attempt(version=main.version, accepted=True,
                                              cipher=main.cipher)
        if main.version in TLS_VERSIONS:
            for version in list(TLS_VERSIONS)[list(TLS_VERSIONS).index(main.version) + 1:]:
                self.attempts[version] = Attempt(
                    version=version, accepted=False, via="negotiation",
                    detail=f"offered up to TLSv1.3, server chose {main.version}")
        return main

    async def older(self, best: str) -> None:
        """Versions older than ``best`` by descending caps (module docstring, step 3)."""
        names = list(TLS_VERSIONS)
        top = names.index(best) - 1 if best in TLS_VERSIONS else -1
        while top >= 0:
            ceiling, span = names[top], names[:top + 1]
            self.handshakes += 1
            try:
                shake = await _handshake(self.address, self.context(ceiling), self.name,
                                         want_chain=False)
            except _FAILURES as exc:
                reason, detail = classify(exc)
                if reason not in _REFUSALS:  # says nothing about the server: ask each
                    async with trio.open_nursery() as nursery:
                        for version in span:
                            nursery.start_soon(self.pinned, version)
                    return
                for version in span:
                    self.attempts[version] = Attempt(
                        version=version, accepted=False, reason=reason,
                        detail=f"offered TLSv1.0-{ceiling}, refused: {detail}")
                return
            if shake.version not in span:  # OpenSSL should refuse that itself
                async with trio.open_nursery() as nursery:
                    for version in span:
                        nursery.start_soon(self.pinned, version)
                return
            self.attempts[shake.version] = Attempt(version=shake.version, accepted=True,
                                                   cipher=shake.cipher)
            for version in span[span.index(shake.version) + 1:]:
                self.attempts[version] = Attempt(
                    version=version, accepted=False, via="negotiation",
                    detail=f"offered TLSv1.0-{ceiling}, server chose {shake.version}")
            top = names.index(shake.version) - 1

    async def pinned(self, version: str) -> None:
        """One stdlib handshake offering ``version`` only."""
        self.handshakes += 1
        try:
            shake = await _handshake(self.address, self.context(version, floor=version),
                                     self.name, want_chain=False)
        except _FAILURES as exc:
            reason, detail = classify(exc)
            self.attempts[version] = Attempt(
                version=version, accepted=False if reason in _REFUSALS else None,
                reason=reason, detail=detail)
            return
        self.attempts[version] = Attempt(version=version, accepted=shake.version == version,
                                         cipher=shake.cipher)

    async def ask(self, hello: bytes) -> raw.HelloAnswer | Attempt:
        """A raw hello's answer, or an Attempt saying why there is none."""
        self.hellos += 1
        try:
            return await raw.ask(self.address, hello)
        except _FAILURES as exc:
            reason, detail = classify(exc)
            return Attempt(version="", accepted=False if reason in _REFUSALS else None,
                           reason=reason, detail=detail, via="hello")

    async def sslv3(self) -> None:
        answer = await self.ask(raw.client_hello(raw.SSL3, raw.SSL3_SUITES, self.name))
        self.attempts["SSLv3"] = raw.judge("SSLv3", raw.SSL3, answer)

    async def legacy_and_ocsp(self) -> None:
        """Legacy suites, then OCSP stapling: only for a server accepting TLS <= 1.2."""
        if not any(self.attempts[v].accepted for v in ("TLSv1.0", "TLSv1.1", "TLSv1.2")):
            return
        # Asked: if the deadline cuts the question short, the answer is "unknown".
        self.legacy = Attempt(version="TLSv1.2", accepted=None, reason=Reason.TIMEOUT,
                              detail=f"no answer within the {self.budget:g} s deadline",
                              via="hello")
        answer = await self.ask(raw.client_hello(raw.TLS12, raw.weak_suites(), self.name))
        self.legacy = raw.judge("TLSv1.2", None, answer)
        if self.attempts["TLSv1.2"].accepted:
            ocsp = await self.ask(raw.client_hello(raw.TLS12, raw.GOOD_SUITES, self.name,
                                                   status_request=True))
            if isinstance(ocsp, raw.HelloAnswer) and ocsp.version == raw.TLS12:
                self.stapled = ocsp.stapled


async def probe(endpoint: Endpoint, *, budget: float, overrides: Overrides | None = None,
                pool_file: Path | None = None, system_trust: bool = True,
                clock: Callable[[], float] = time.time,
                stats: EngineStats | None = None, raw_hellos: bool = True) -> TlsFacts:
    """Facts of one endpoint, all attempts within ``budget`` seconds (the per-target
    deadline: a trio cancel scope, so a hanging server costs exactly that). Never raises
    for a target that could not be probed: the facts carry the reason."""
    stats = stats if stats is not None else EngineStats()
    observed = clock()
    state: _TargetProbe | None = None
    main: _Handshake | None = None

    def failed(reason: str, detail: str) -> TlsFacts:
        return TlsFacts(target=endpoint.id, server_name=endpoint.server_name,
                        address=host_port(*state.address) if state else "",
                        observed_at=observed, error=reason, error_detail=detail,
                        handshakes=state.handshakes if state else 0)

    with trio.move_on_after(budget) as scope:
        try:
            state = _TargetProbe(endpoint, await _resolve(endpoint, overrides or {}), budget)
            main = await state.best()
        except _FAILURES as exc:
            return failed(*classify(exc))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(state.older, main.version)
            if raw_hellos:
                nursery.start_soon(state.sslv3)
        if raw_hellos:
            await state.legacy_and_ocsp()
    if state is None or main is None:
        return failed(Reason.TIMEOUT, f"no TLS handshake within {budget:g} s")
    if scope.cancelled_caught:
        for version in ("SSLv3", *TLS_VERSIONS) if raw_hellos else TLS_VERSIONS:
            state.attempts.setdefault(version, Attempt(
                version=version, accepted=None, reason=Reason.TIMEOUT,
                detail=f"no answer within the {budget:g} s deadline"))
    stats.handshakes += state.handshakes
    stats.hellos += state.hellos
    stats.per_target[endpoint.id] = state.handshakes
    store = x509_analysis.trust_store(
        str(endpoint.ca_file) if endpoint.ca_file else None,
        str(pool_file) if pool_file else None, system_trust)
    chain = x509_analysis.analyse(main.chain, state.name, store) if main.chain else None
    return TlsFacts(
        target=endpoint.id, server_name=state.name, address=host_port(*state.address),
        observed_at=observed, version=main.version, cipher=main.cipher, alpn=main.alpn,
        attempts=tuple(state.attempts[v] for v in ("SSLv3", *TLS_VERSIONS)
                       if v in state.attempts),
        chain=chain, handshakes=state.handshakes, hellos=state.hellos,
        legacy_ciphers=state.legacy, ocsp_stapled=state.stapled,
    )


async def probe_all(targets: Sequence[Endpoint], *, budget: float, concurrency: int,
                    overrides: Overrides | None = None, pool_file: Path | None = None,
                    system_trust: bool = True, clock: Callable[[], float] = time.time,
                    stats: EngineStats | None = None, raw_hellos: bool = True,
                    ) -> dict[str, TlsFacts]:
    """Facts for every target, at most ``concurrency`` targets in flight, each within
    ``budget`` seconds. Call :func:`seawall.tls.hello.prepare` first when
    ``raw_hellos`` (it imports scapy, which would block the loop)."""
    stats = stats if stats is not None else EngineStats()
    limiter = trio.CapacityLimiter(concurrency)
    results: dict[str, TlsFacts] = {}

    async def run(endpoint: Endpoint) -> None:
        async with limiter:
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
            try:
                results[endpoint.id] = await probe(
                    endpoint, budget=budget, overrides=overrides, pool_file=pool_file,
                    system_trust=system_trust, clock=clock, stats=stats,
                    raw_hellos=raw_hellos)
            except Exception as exc:  # a bug of ours must not end the other targets
                results[endpoint.id] = TlsFacts(
                    target=endpoint.id, server_name=endpoint.server_name, address="",
                    observed_at=clock(), error=Reason.PROBE_CRASHED,
                    error_detail=f"{type(exc).__name__}: {exc}")
            finally:
                stats.in_flight -= 1

    async with trio.open_nursery() as nursery:
        for endpoint in targets:
            nursery.start_soon(run, endpoint)
    return results


def gather(targets: Sequence[Endpoint], *, timeout: float, concurrency: int,
           overrides: Mapping[tuple[str, int], tuple[str, int]] | None = None,
           pool_file: Path | None = None, system_trust: bool = True,
           clock: Callable[[], float] = time.time,
           stats: EngineStats | None = None, raw_hellos: bool = True) -> dict[str, TlsFacts]:
    """Synchronous entry point: :func:`probe_all` in a fresh trio run."""
    if raw_hellos:
        raw.prepare()  # import scapy (~1 s) before any deadline starts
    with contextlib.ExitStack():
        result: dict[str, TlsFacts] = trio.run(functools.partial(
            probe_all, targets, budget=timeout, concurrency=concurrency,
            overrides=dict(overrides or {}), pool_file=pool_file,
            system_trust=system_trust, clock=clock, stats=stats, raw_hellos=raw_hellos))
    return result
