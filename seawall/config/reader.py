"""A strict reader over one TOML table: typed getters, dotted key paths, unknown keys rejected.

Every getter names the full key (``tls.targets[3].port``) and the source file in its
:class:`~seawall.errors.ConfigError`, so each suite's section parser reads like a schema::

    t = Table(raw, source="seawall.toml", path="tls")
    timeout = t.number("timeout", default=5.0, minimum=0.1)
    for target in t.tables("targets"):
        port = target.port("port")
        target.done()
    t.done()

``done()`` must be called once all keys are read: any key not read is an error that
lists the keys that are allowed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from seawall.errors import ConfigError

T = TypeVar("T")
_MISSING: Any = object()

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def _type_name(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


class Table:
    """A view of one TOML table that tracks which keys were read."""

    def __init__(self, raw: Mapping[str, Any], *, source: str, path: str = "") -> None:
        self.raw = raw
        self.source = source
        self.path = path
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        """The dotted path of ``name`` inside this table, for messages."""
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, problem: str, fix: str = "") -> ConfigError:
        """A ConfigError about key ``name`` of this table."""
        return ConfigError(self.source, self.key(name), problem, fix)

    def has(self, name: str) -> bool:
        """Whether the key is present (and marks it read)."""
        self._read.add(name)
        return name in self.raw

    def _get(self, name: str, default: Any, expected: tuple[type, ...], what: str) -> Any:
        self._read.add(name)
        if name not in self.raw:
            if default is _MISSING:
                raise self.error(name, "is required", f"add {name} = <{what}>")
            return default
        value = self.raw[name]
        # bool is an int in Python; TOML keeps them apart, and so do we.
        if isinstance(value, bool) and bool not in expected:
            raise self.error(name, f"expected {what}, got a boolean")
        if not isinstance(value, expected):
            raise self.error(name, f"expected {what}, got {_type_name(value)} {value!r}")
        return value

    def text(self, name: str, default: Any = _MISSING, *, choices: Sequence[str] = ()) -> Any:
        """A string; with ``choices``, one of them."""
        value = self._get(name, default, (str,), "a string")
        if choices and value is not default and value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise self.error(name, f"{value!r} is not one of {allowed}")
        if value is not default and value == "":
            raise self.error(name, "is empty")
        return value

    def flag(self, name: str, default: Any = _MISSING) -> Any:
        """A boolean."""
        return self._get(name, default, (bool,), "true or false")

    def integer(
        self, name: str, default: Any = _MISSING, *, minimum: int | None = None,
        maximum: int | None = None, what: str = "an integer",
    ) -> Any:
        """An integer within [minimum, maximum]."""
        value = self._get(name, default, (int,), what)
        if value is not default:
            self._bounds(name, value, minimum, maximum, what)
        return value

    def number(
        self, name: str, default: Any = _MISSING, *, minimum: float | None = None,
        maximum: float | None = None,
    ) -> Any:
        """A number (integer or float) within [minimum, maximum], returned as float."""
        value = self._get(name, default, (int, float), "a number")
        if value is default:
            return value
        self._bounds(name, value, minimum, maximum, "a number")
        return float(value)

    def _bounds(
        self, name: str, value: float, lo: float | None, hi: float | None, what: str
    ) -> None:
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = f"{lo if lo is not None else '-inf'}-{hi if hi is not None else 'inf'}"
            raise self.error(name, f"{value} is out of range ({span})")

    def port(self, name: str, default: Any = _MISSING) -> Any:
        """A TCP/UDP port 1-65535."""
        value = self._get(name, default, (int,), "a port number")
        if value is not default and not 1 <= value <= 65535:
            raise self.error(name, f"{value} is not a port (1-65535)")
        return value

    def host(self, name: str, default: Any = _MISSING) -> Any:
        """A DNS name or an IP address (IPv6 without brackets)."""
        value = self.text(name, default)
        if value is not default and not is_host(value):
            raise self.error(
                name, f"{value!r} is not a hostname or IP address",
                "use a DNS name like api.example.com or an address like 10.0.0.1 or ::1",
            )
        return value

    def path_value(self, name: str, default: Any = _MISSING, *, must_exist: bool = True,
                   base: Path | None = None) -> Any:
        """A file path, relative to ``base`` (the config file's folder); must be readable."""
        value = self.text(name, default)
        if value is default:
            return value
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        if must_exist:
            try:
                with path.open("rb"):
                    pass
            except OSError as exc:
                raise self.error(
                    name, f"cannot read {str(path)!r}: {exc.strerror or exc}",
                    "give a readable file path (relative paths are from the config file)",
                ) from None
        return path

    def str_list(self, name: str, default: Any = _MISSING) -> Any:
        """An array of strings."""
        value = self._get(name, default, (list,), "an array of strings")
        if value is default:
            return value
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{name}[{i}]", f"expected a string, got {_type_name(item)}")
        return tuple(value)

    def int_list(self, name: str, default: Any = _MISSING, *, minimum: int | None = None,
                 maximum: int | None = None) -> Any:
        """An array of integers within bounds."""
        value = self._get(name, default, (list,), "an array of integers")
        if value is default:
            return value
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, int):
                raise self.error(f"{name}[{i}]", f"expected an integer, got {_type_name(item)}")
            self._bounds(f"{name}[{i}]", item, minimum, maximum, "an integer")
        return tuple(value)

    def table(self, name: str, *, required: bool = False) -> Table:
        """A sub-table (empty if absent and not required)."""
        raw = self._get(name, _MISSING if required else {}, (dict,), "a table")
        return Table(raw, source=self.source, path=self.key(name))

    def tables(self, name: str) -> Iterator[Table]:
        """Each table of an array of tables (``[[tls.targets]]``), with indexed paths."""
        raw = self._get(name, [], (list,), "an array of tables")
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                raise self.error(f"{name}[{i}]", f"expected a table, got {_type_name(item)}")
            yield Table(item, source=self.source, path=f"{self.key(name)}[{i}]")

    def named_tables(self, name: str) -> Iterator[tuple[str, Table]]:
        """Each (name, sub-table) of a table of tables (``[tls.policies.public-api]``)."""
        outer = self.table(name)
        for key in outer.raw:
            yield key, outer.table(key)
        outer.done()

    def done(self) -> None:
        """Raise for the first key present but never read (a typo or an unknown key)."""
        unknown = [k for k in self.raw if k not in self._read]
        if unknown:
            allowed = ", ".join(sorted(self._read)) or "none"
            raise self.error(unknown[0], "unknown key", f"allowed keys here: {allowed}")


def is_host(value: str) -> bool:
    """Whether ``value`` is a valid DNS name or IP address."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return False
    return all(_HOST_LABEL.match(label) for label in name.split("."))
