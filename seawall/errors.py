"""Seawall's one exception tree. Foreign exceptions are translated once, at a boundary.

::

    SeawallError
     ├── ConfigError        bad input from the user: file, key, what is wrong, the fix
     ├── ProbeError         a probe could not look at a target (carries a reason)
     │    ├── LocalProbeError   our side refused or broke before sending (local_policy, ...)
     │    └── RemoteProbeError  the target or the network did it (timeout, refused, ...)
     └── DeliveryError      results could not be handed to a reporter (they stay spooled)

Config errors become a usage-error exit (4 under pytest, 2 from ``seawall``) with one
line of text, never a traceback. Probe errors become ``error`` findings, never passes.
"""

from __future__ import annotations


class SeawallError(Exception):
    """Base of every error Seawall raises on purpose."""


class ConfigError(SeawallError):
    """Bad configuration, targets or flags.

    ``source`` names where the value came from (a file path, ``--seawall-config``,
    ``SEAWALL_CONFIG``, ``schedules/tls.toml``), ``key`` the dotted key
    (``tls.targets[3].port``), ``problem`` what is wrong with it and ``fix`` what to do.
    ``str()`` is the one-line message shown to the user.
    """

    def __init__(self, source: str, key: str, problem: str, fix: str = "") -> None:
        self.source = source
        self.key = key
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}: " if self.key else f"{self.source}: "
        tail = f" ({self.fix})" if self.fix else ""
        return f"{where}{self.problem}{tail}"


class ProbeError(SeawallError):
    """A probe could not look at ``target``; ``reason`` is a snake_case reason value."""

    def __init__(self, target: str, reason: str, detail: str = "") -> None:
        self.target = target
        self.reason = reason
        self.detail = detail
        super().__init__(f"{target}: {reason}" + (f": {detail}" if detail else ""))


class LocalProbeError(ProbeError):
    """Our own side refused or failed before anything reached the target."""


class RemoteProbeError(ProbeError):
    """The target or the network between us failed the attempt."""


class DeliveryError(SeawallError):
    """A reporter could not deliver results; they stay in the spool for a later run."""

    def __init__(self, reporter: str, reason: str, retryable: bool) -> None:
        self.reporter = reporter
        self.reason = reason
        self.retryable = retryable
        super().__init__(f"{reporter}: {reason}")
