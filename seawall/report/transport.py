"""The HTTP transport: payload lists to Datadog through the real ``datadog.api`` client.

``mute=False`` (by default the client swallows 4xx and connection errors), an explicit
``host_name`` (the HTTP API requires one and the client adds none), ``api_host`` from
``DD_SITE`` (the client does not read it). Every response is classified by
:func:`classify` into a :class:`Verdict`; :mod:`seawall.report.spool` decides what each
verdict does to the spooled items. The client only retries over https (its
``HTTPAdapter`` is mounted for ``https://`` only), so the site URL is always https.
"""

from __future__ import annotations

import enum
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seawall.model import JSON

Payload = dict[str, JSON]



class Verdict(enum.Enum):
    """What a response means for the payload that was sent."""

    SENT = "sent"  # 2xx: done
    RETRY = "retry"  # 5xx, 408, 429, connection/TLS errors, timeouts, client backoff: keep
    SPLIT = "split"  # 413: too large, split in halves and resend
    REJECTED = "rejected"  # 400 and other 4xx: keep as evidence, count as dropped
    AUTH = "auth"  # 401/403/404: key or site wrong; keep, say so once


@dataclass(frozen=True)
class Response:
    """A classified response: the verdict, the HTTP status if any, and a safe detail."""

    verdict: Verdict
    status: int | None
    detail: str


def classify(status: int | None, error: BaseException | None) -> Verdict:
    """The one place that turns an HTTP status or a client exception into a verdict."""
    if status is not None:
        if 200 <= status < 300:
            return Verdict.SENT
        if status == 413:
            return Verdict.SPLIT
        if status in (401, 403, 404):
            return Verdict.AUTH
        if status in (408, 429) or status >= 500:
            return Verdict.RETRY
        return Verdict.REJECTED
    return Verdict.SENT if error is None else Verdict.RETRY


class Secret:
    """A string that never shows itself in ``repr``/``str`` (the API key)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one header that needs it."""
        return self._value

    def scrub(self, text: str) -> str:
        """``text`` with every occurrence of the secret replaced."""
        return text.replace(self._value, "[DD_API_KEY]") if self._value else text

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


_status = threading.local()


def _recording_client() -> Any:
    """The client's own ``requests`` HTTP client, plus two things: it remembers the
    status of the last response (the client hides it behind ApiError/HTTPError), and
    it labels pre-serialised JSON bodies (a list of service checks) as JSON."""
    from datadog.api.http_client import RequestClient

    class RecordingClient(RequestClient):
        _session = None
        _session_lock = threading.Lock()

        @classmethod
        def request(cls, method: str, url: str, headers: dict[str, str], params: Any,
                    data: Any, timeout: float, proxies: Any, verify: Any,
                    max_retries: int) -> Any:
            _status.code = None
            if isinstance(data, str):
                headers = {**headers, "Content-Type": "application/json"}
            result = super().request(method, url, headers, params, data, timeout, proxies,
                                     verify, max_retries)
            return result

    import requests

    with RecordingClient._session_lock:
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(max_retries=3)
        session.mount("https://", adapter)

        def remember(response: Any, *args: Any, **kwargs: Any) -> None:
            _status.code = response.status_code

        session.hooks["response"].append(remember)
        RecordingClient._session = session  # type: ignore[assignment]
    return RecordingClient


class HttpTransport:
    """Sends payload lists with the real ``datadog.api`` client; never raises for
    delivery problems, returns a :class:`Response` instead."""

    def __init__(self, *, api_key: Secret, api_host: str, host_name: str,
                 timeout: float = 10.0, ca_file: Path | None = None,
                 max_retries: int = 3) -> None:
        self.api_key = api_key
        self.api_host = api_host
        self.host_name = host_name
        self.timeout = timeout
        self.ca_file = ca_file
        self.max_retries = max_retries
        self.requests = 0
        import datadog.api  # noqa: F401  (0.25 s of imports: paid at setup, not at finish)

    def __repr__(self) -> str:
        return f"HttpTransport(api_host={self.api_host!r}, host_name={self.host_name!r})"

    def _configure(self) -> None:
        import datadog
        from datadog.api.api_client import APIClient

        datadog.initialize(api_key=self.api_key.reveal(), host_name=self.host_name,
                           api_host=self.api_host, mute=False, timeout=self.timeout,
                           max_retries=self.max_retries,
                           cacert=str(self.ca_file) if self.ca_file else True)
        if not getattr(APIClient._http_client, "seawall", False):
            client = _recording_client()
            client.seawall = True
            APIClient._http_client = client

    def send(self, kind: str, items: list[Payload]) -> Response:
        """POST one payload list: all series in one request, all service checks in one
        request, an event per request (the events API takes one)."""
        from datadog.api.api_client import APIClient
        from datadog.api.events import Event
        from datadog.api.exceptions import ApiError, HttpBackoff
        from datadog.api.metrics import Metric

        self._configure()
        _status.code = None
        error: BaseException | None = None
        # The client rewrites ``points`` and fills ``host`` in place: give it shallow
        # copies, so the spooled items stay as they were (a deep copy cost 0.2 s per
        # 3,000 series: BENCHMARKS.md).
        body = [dict(item) for item in items]
        self.requests += 1
        try:
            if kind == "series":
                Metric.send(metrics=body, attach_host_name=True)
            elif kind == "check_run":
                APIClient.submit("POST", "check_run", body=json.dumps(body, allow_nan=False))
            elif kind == "events":
                (event,) = body
                Event.create(**event)
            else:
                raise ValueError(f"unknown payload kind {kind!r}")
        except HttpBackoff as exc:  # our own earlier timeouts: not even tried
            error = exc
            _status.code = None
        except (ApiError, Exception) as exc:  # every client failure ends as a verdict
            error = exc
        status: int | None = getattr(_status, "code", None)
        verdict = classify(status, error)
        detail = "" if error is None else f"{type(error).__name__}: {error}"
        return Response(verdict, status, self.api_key.scrub(detail)[:500])
