"""``[at_rest]``: the data paths whose bytes must reach the medium encrypted.

::

    [at_rest]
    timeout = 300                      # seconds per path (a full scan of a big disk)

    [[at_rest.paths]]
    path = "/var/lib/postgresql"       # absolute; canaries are written inside it
    expect = "encrypted"               # or "plaintext_ok"
    mechanism = "any"                  # dm-crypt | luks | fscrypt | fuse | below_os
    control = "/var/lib/seawall-plain" # a plaintext directory on the same medium (optional)
    unprivileged = "warn"              # outcome when the medium cannot be read: warn | error
    canary = true                      # false: report stack and mechanisms only (weaker)
    max_scan_mib = 0                   # bound on a full scan (0: the whole medium)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seawall.config.reader import Table

EXPECT = ("encrypted", "plaintext_ok")
MECHANISMS = ("any", "dm-crypt", "luks", "fscrypt", "fuse", "below_os")
UNPRIVILEGED = ("warn", "error")


@dataclass(frozen=True, kw_only=True)
class AtRestPathConfig:
    """One ``[[at_rest.paths]]`` entry, validated."""

    path: str
    expect: str = "encrypted"
    mechanism: str = "any"
    control: str | None = None
    unprivileged: str = "warn"
    canary: bool = True
    max_scan_mib: int = 0
    name: str = ""


@dataclass(frozen=True, kw_only=True)
class AtRestConfig:
    """Settings of the at_rest suite: per-path deadline and the configured paths."""

    timeout: float = 300.0
    paths: tuple[AtRestPathConfig, ...] = ()


def _absolute(t: Table, name: str, value: str, base: Path) -> str:
    if not value.startswith("/"):
        raise t.error(name, f"{value!r} is not an absolute path",
                      "give the full path, e.g. /var/lib/postgresql")
    return value.rstrip("/") or "/"


def parse(t: Table, base: Path) -> AtRestConfig:
    """Read the ``[at_rest]`` table."""
    timeout = t.number("timeout", 300.0, minimum=1, maximum=86400)
    paths: list[AtRestPathConfig] = []
    seen: dict[str, str] = {}
    for entry in t.tables("paths"):
        path = _absolute(entry, "path", entry.text("path"), base)
        if path in seen:
            raise entry.error("path", f"{path!r} is already listed as {seen[path]}",
                              "list each data path once")
        seen[path] = entry.key("path")
        control = entry.text("control", None)
        if control is not None:
            control = _absolute(entry, "control", control, base)
            if control == path:
                raise entry.error("control", "is the data path itself",
                                  "give a plaintext directory on the same medium")
        expect = entry.text("expect", "encrypted", choices=EXPECT)
        mechanism = entry.text("mechanism", "any", choices=MECHANISMS)
        if expect == "plaintext_ok" and mechanism != "any":
            raise entry.error("mechanism", f"{mechanism!r} makes no sense with "
                              "expect = 'plaintext_ok'", "drop mechanism or expect 'encrypted'")
        paths.append(AtRestPathConfig(
            path=path, expect=expect, mechanism=mechanism, control=control,
            unprivileged=entry.text("unprivileged", "warn", choices=UNPRIVILEGED),
            canary=entry.flag("canary", True),
            max_scan_mib=entry.integer("max_scan_mib", 0, minimum=0),
            name=entry.text("name", ""),
        ))
        entry.done()
    t.done()
    return AtRestConfig(timeout=timeout, paths=tuple(paths))
