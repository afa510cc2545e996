"""The runtime interface and the registry of runtime drivers."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from seawall.errors import LocalProbeError
from seawall.targets import SandboxSpec


@dataclass(frozen=True, kw_only=True)
class Sandbox:
    """A launched sandbox: its spec, the runtime's ``handle`` (namespace or container
    name), its addresses, and whether we own it (created it, so destroy removes it)."""

    spec: SandboxSpec
    handle: str
    ipv4: str | None = None
    ipv6: str | None = None
    owned: bool = True

    @property
    def id(self) -> str:
        """The spec's id (``fleet.name``)."""
        return self.spec.id


class SandboxRuntime(Protocol):
    """Launches, enters and removes sandboxes. Methods raise LocalProbeError when the
    runtime itself fails (reason ``probe_crashed`` with the command's stderr)."""

    name: str

    def create(self, spec: SandboxSpec) -> Sandbox:
        """Launch (or attach to) the sandbox of ``spec``; addresses may be filled later."""
        ...

    def command(self, sandbox: Sandbox, argv: Sequence[str]) -> list[str]:
        """The host argv that runs ``argv`` inside ``sandbox`` (stdin/stdout passed)."""
        ...

    def addresses(self, sandbox: Sandbox) -> Sandbox:
        """``sandbox`` with its IPv4 and IPv6 addresses as seen inside it."""
        ...

    def destroy(self, sandbox: Sandbox) -> None:
        """Remove the sandbox and everything running in it (no-op if not owned)."""
        ...


def run(argv: Sequence[str], *, target: str, stdin: str | None = None,
        check: bool = True) -> str:
    """Run a runtime command; its stdout. A failure raises LocalProbeError."""
    try:
        done = subprocess.run(list(argv), input=stdin, capture_output=True, text=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LocalProbeError(target, "probe_crashed", f"{argv[0]}: {exc}") from None
    if check and done.returncode != 0:
        raise LocalProbeError(
            target, "probe_crashed",
            f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[:300]}",
        )
    return done.stdout


def _registry() -> dict[str, type]:
    from seawall.runtime.command import CommandRuntime
    from seawall.runtime.netns import NetnsRuntime

    return {"netns": NetnsRuntime, "command": CommandRuntime}


class _Runtimes(dict[str, type]):
    """``RUNTIMES[name]``: the driver class, imported on first use."""

    def __missing__(self, key: str) -> type:
        self.update(_registry())
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        return key in ("netns", "command")


RUNTIMES: dict[str, type] = _Runtimes()
