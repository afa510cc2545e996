"""A UDP DogStatsD listener on loopback and a strict parser of the datagram grammar.

Grammar (Datadog docs "Datagram Format and Shell Usage", protocol v1.3):

- metric: ``<name>:<value>|<type>[|@<rate>][|#<tag>,...][|T<unix ts>][|c:<container>]``
- service check: ``_sc|<name>|<status>[|d:<ts>][|h:<host>][|#<tags>][|m:<message>]``
- event: ``_e{<title len>,<text len>}:<title>|<text>[|d:<ts>][|h:<host>][|k:<agg key>]
  [|p:<priority>][|s:<source>][|t:<alert type>][|#<tags>]`` (text newlines as ``\\n``)

A datagram may carry several lines. Anything that does not parse lands in ``invalid``.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

_METRIC = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.]{0,199}$")
_EVENT = re.compile(r"^_e\{(\d+),(\d+)\}:")
TYPES = ("g", "c", "ms", "h", "s", "d")


@dataclass
class Datagram:
    """One parsed line: ``kind`` metric/service_check/event, and its fields."""

    kind: str
    name: str
    value: Any
    tags: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


def _extras(parts: list[str], allowed: str) -> tuple[list[str], dict[str, str]]:
    tags: list[str] = []
    fields: dict[str, str] = {}
    for part in parts:
        if part.startswith("#"):
            tags = [t for t in part[1:].split(",") if t]
        elif part[:1] in allowed and (part[1:2] == ":" or part[0] in "@T"):
            key = part[0]
            fields[key] = part[2:] if part[1:2] == ":" else part[1:]
        else:
            raise ValueError(f"unknown field {part!r}")
    return tags, fields


def parse_line(line: str) -> Datagram:
    """Parse one line of the grammar above; ValueError says what is wrong."""
    if line.startswith("_sc|"):
        parts = line.split("|")
        if len(parts) < 3 or parts[2] not in ("0", "1", "2", "3"):
            raise ValueError(f"service check needs a name and a status 0..3: {line!r}")
        tags, fields = _extras(parts[3:], "dhm")
        if "d" in fields and not fields["d"].isdigit():
            raise ValueError(f"service check timestamp {fields['d']!r} is not an integer")
        return Datagram("service_check", parts[1], int(parts[2]), tags, fields)
    match = _EVENT.match(line)
    if match:
        tlen, xlen = int(match[1]), int(match[2])
        rest = line[match.end():]
        title, text = rest[:tlen], rest[tlen + 1: tlen + 1 + xlen]
        if rest[tlen: tlen + 1] != "|" or len(text) != xlen:
            raise ValueError(f"event lengths do not match its title/text: {line[:80]!r}")
        tail = rest[tlen + 1 + xlen:]
        tags, fields = _extras([p for p in tail.split("|") if p], "dhkpst")
        return Datagram("event", title, text.replace("\\n", "\n"), tags, fields)
    name, sep, rest = line.partition(":")
    parts = rest.split("|")
    if not sep or not _METRIC.match(name) or len(parts) < 2 or parts[1] not in TYPES:
        raise ValueError(f"not a metric line: {line!r}")
    value = float(parts[0])
    tags, fields = _extras(parts[2:], "@Tc")
    if "T" in fields and not fields["T"].isdigit():
        raise ValueError(f"metric timestamp {fields['T']!r} is not an integer")
    return Datagram("metric", name, value, tags, {"type": parts[1], **fields})


class StatsdListener:
    """Receives datagrams on ``127.0.0.1:<port>``; use as a context manager."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.received: list[Datagram] = []
        self.invalid: list[str] = []
        self.raw: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> StatsdListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.raw.append(data)
            for line in data.decode("utf-8", "replace").split("\n"):
                if not line:
                    continue
                try:
                    self.received.append(parse_line(line))
                except ValueError as exc:
                    self.invalid.append(str(exc))

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Datagram]:
        """Wait until ``count`` lines arrived (or the timeout), then return them all."""
        deadline = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if len(self.received) + len(self.invalid) >= count:
                break
            deadline.wait(0.02)
        return list(self.received)
