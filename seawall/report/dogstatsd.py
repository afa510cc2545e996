"""Optional DogStatsD transport: best effort, for hosts with a Datadog Agent but no key.

Used only when no ``DD_API_KEY`` is set and ``DD_AGENT_HOST`` or ``DD_DOGSTATSD_URL``
is (sending both ways would count every gauge twice under two host names). UDP is fire
and forget: nothing is spooled, a lost datagram is lost, and the status line says so.
Gauges carry their probe time (``|T``, Agent >= 7.40), service checks ``d:``, events
``d:``, so a late datagram still lands on the right point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seawall.report.transport import Payload, Response, Verdict


class StatsdTransport:
    """Sends the same payload dicts as the HTTP transport, over DogStatsD."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        from datadog.dogstatsd.base import DogStatsd

        url = environ.get("DD_DOGSTATSD_URL", "")
        host = environ.get("DD_AGENT_HOST", "localhost")
        port = int(environ.get("DD_DOGSTATSD_PORT", "8125") or 8125)
        if url.startswith("udp://"):
            host, _, text = url.removeprefix("udp://").rpartition(":")
            port = int(text)
        socket_path = url.removeprefix("unix://") if url.startswith("unix://") else None
        self.target = f"unix://{socket_path}" if socket_path else f"udp://{host}:{port}"
        self.client: Any = DogStatsd(host=None if socket_path else host,
                                     port=None if socket_path else port,
                                     socket_path=socket_path, disable_buffering=True,
                                     disable_telemetry=True, disable_aggregation=True,
                                     disable_background_sender=True)
        self.datagrams = 0

    def __repr__(self) -> str:
        return f"StatsdTransport({self.target!r})"

    def send(self, kind: str, items: list[Payload]) -> Response:
        """Emit every item; UDP errors are reported but nothing is kept (best effort)."""
        try:
            for item in items:
                self._emit(kind, item)
                self.datagrams += 1
        except OSError as exc:
            return Response(Verdict.RETRY, None, f"DogStatsD {self.target}: {exc}")
        return Response(Verdict.SENT, None, "")

    def _emit(self, kind: str, item: Payload) -> None:
        c = self.client
        if kind == "series":
            ts, value = item["points"][0]
            c.gauge_with_timestamp(item["metric"], value, int(ts), tags=item["tags"])
        elif kind == "check_run":
            c.service_check(item["check"], item["status"], tags=item["tags"],
                            timestamp=item["timestamp"], hostname=item["host_name"],
                            message=item["message"])
        else:
            c.event(item["title"], item["text"], alert_type=item["alert_type"],
                    aggregation_key=item["aggregation_key"],
                    source_type_name=item.get("source_type_name"),
                    date_happened=item["date_happened"], tags=item["tags"],
                    hostname=item["host"])

    def close(self) -> None:
        """Close the socket."""
        self.client.close_socket()
