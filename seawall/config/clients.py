"""``[clients]``: client commands whose certificate verification is checked.

::

    [[clients.commands]]
    name = "curl"          # the target id (letters, digits, . _ -)
    command = "curl -sS -o /dev/null --cacert {ca_file} --resolve {host}:{port}:{ip} {url}"
    timeout = 10           # seconds per run (default 10)
    shell = false          # true: run with /bin/sh -c, placeholders shell-quoted

Each command is run against local lab endpoints (one good, several with bad
certificates). Placeholders: ``{host}`` the name the certificate must match, ``{port}``
the real loopback port, ``{ip}`` the address (127.0.0.1), ``{url}``
``https://{host}:{port}/`` and ``{ca_file}`` the lab root the client should trust. Without
a shell the command is split like a POSIX shell would (``shlex``), then placeholders are
filled in each word, so values never need quoting.
"""

from __future__ import annotations

import re
import shlex
import string
from dataclasses import dataclass
from pathlib import Path

from seawall.config.reader import Table

PLACEHOLDERS = ("host", "port", "ip", "url", "ca_file")
DEFAULT_TIMEOUT = 10.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True, kw_only=True)
class ClientCommand:
    """One client to check. ``command`` is the template as configured; ``timeout`` the
    seconds one run may take; ``shell`` runs it through ``/bin/sh -c``."""

    name: str
    command: str
    timeout: float = DEFAULT_TIMEOUT
    shell: bool = False

    @property
    def id(self) -> str:
        """The client's name: the pytest id and ``target:`` tag."""
        return self.name


@dataclass(frozen=True, kw_only=True)
class ClientsConfig:
    """Client commands whose certificate verification is checked (empty: none
    configured; the embedded lab then checks its own default clients)."""

    commands: tuple[ClientCommand, ...] = ()


def placeholders(template: str) -> list[str]:
    """The ``{names}`` used in ``template``; raises ValueError for a malformed one."""
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


def _command(t: Table) -> ClientCommand:
    name = t.text("name")
    if not _NAME.match(name):
        raise t.error("name", f"{name!r} is not a usable client name",
                      "use letters, digits, '.', '_' or '-': it becomes the target id")
    command = t.text("command")
    try:
        fields = placeholders(command)
        words = shlex.split(command)
    except ValueError as exc:
        raise t.error("command", f"cannot be parsed: {exc}",
                      "balance quotes and braces; write a literal brace as {{ or }}") from None
    for field in fields:
        if field not in PLACEHOLDERS:
            raise t.error("command", f"unknown placeholder {{{field}}}",
                          "use " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
    if not words:
        raise t.error("command", "has no words", "give the client program and its arguments")
    client = ClientCommand(
        name=name, command=command,
        timeout=t.number("timeout", DEFAULT_TIMEOUT, minimum=0.1, maximum=600),
        shell=t.flag("shell", False),
    )
    t.done()
    return client


def parse(t: Table, base: Path) -> ClientsConfig:
    """Read the ``[clients]`` table; raise ConfigError naming the key for bad input."""
    commands: list[ClientCommand] = []
    for table in t.tables("commands"):
        client = _command(table)
        for j, other in enumerate(commands):
            if other.name == client.name:
                raise table.error("name", f"client {client.name!r} is already defined",
                                  f"names must be unique; clients.commands[{j}] has it")
        commands.append(client)
    t.done()
    return ClientsConfig(commands=tuple(commands))
