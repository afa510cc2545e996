"""What each data path promises, as the rules take it (built from ``[[at_rest.paths]]``)."""

from __future__ import annotations

from dataclasses import dataclass

from seawall.at_rest.facts import Mechanism
from seawall.config.at_rest import AtRestConfig, AtRestPathConfig
from seawall.model import Outcome


@dataclass(frozen=True, kw_only=True)
class DataPathPolicy:
    """The promise for one path.

    ``expect_encrypted``: the canary must not reach the medium in plaintext.
    ``mechanism``: None for any, else the mechanism that must do it. ``control``: a
    plaintext directory on the same medium (None: the probe makes one). ``unprivileged``:
    the outcome (warn or error) when the medium cannot be read and only the stack and
    mechanisms are known; never a pass. ``canary``: False skips the write-and-look
    (same weaker result). ``max_scan_bytes``: bound on a full scan (None: the whole
    medium). ``timeout``: seconds for the whole look at this path.
    """

    expect_encrypted: bool = True
    mechanism: Mechanism | None = None
    control: str | None = None
    unprivileged: Outcome = Outcome.WARN
    canary: bool = True
    max_scan_bytes: int | None = None
    timeout: float = 300.0

    @property
    def label(self) -> str:
        """How the promise reads in a summary."""
        if not self.expect_encrypted:
            return "plaintext allowed"
        return f"encrypted by {self.mechanism.value}" if self.mechanism else "encrypted"


def from_config(entry: AtRestPathConfig, section: AtRestConfig) -> DataPathPolicy:
    """The policy of one configured path."""
    return DataPathPolicy(
        expect_encrypted=entry.expect == "encrypted",
        mechanism=None if entry.mechanism == "any" else Mechanism(entry.mechanism),
        control=entry.control,
        unprivileged=Outcome(entry.unprivileged),
        canary=entry.canary,
        max_scan_bytes=entry.max_scan_mib * 1024 * 1024 or None,
        timeout=section.timeout,
    )
