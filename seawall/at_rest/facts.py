"""What the at_rest probes saw for one data path: frozen, plain facts, incl. why we could
not look. Judgement lives in :mod:`seawall.at_rest.rules`.

::

    DataPathFacts
     ├── stack: Layer...        mount, then block devices down to the medium
     ├── mechanisms: Mechanism  dm-crypt / luks / fscrypt / fuse, each with the layer it covers
     └── canary: CanaryFacts    the proof: canary absent on the medium, control found
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from seawall.model import JSON


class AtRestReason(enum.StrEnum):
    """Judgement reasons of the at_rest suite (unique across suites)."""

    PLAINTEXT_ON_MEDIUM = "plaintext_on_medium"  # the canary was read back from the medium
    HEADER_WITHOUT_ENCRYPTION = "header_without_encryption"  # LUKS header, data in plaintext
    NO_ENCRYPTION_LAYER = "no_encryption_layer"  # nothing in the stack encrypts
    MECHANISM_MISMATCH = "mechanism_mismatch"  # encrypted, but not by the promised mechanism
    STACK_ONLY = "stack_only"  # could not read the medium: stack and mechanisms only
    PATH_MISSING = "path_missing"  # the configured path does not exist
    MEDIUM_OUT_OF_REACH = "medium_out_of_reach"  # network/tmpfs/overlay: no device to read
    BELOW_OS_UNVERIFIED = "below_os_unverified"  # promised below the OS: not visible here


class Mechanism(enum.StrEnum):
    """Ways data at rest gets encrypted, as named in config (``mechanism = ...``)."""

    DM_CRYPT = "dm-crypt"
    LUKS = "luks"
    FSCRYPT = "fscrypt"
    FUSE = "fuse"
    BELOW_OS = "below_os"


@dataclass(frozen=True, kw_only=True)
class Layer:
    """One layer of the storage stack, from the mount downwards.

    ``kind``: ``mount`` (a file system), ``fuse``, ``overlay``, ``tmpfs``, ``network``,
    ``loop``, ``dm``, ``partition``, ``disk``. ``name`` is the mount point or the block
    device name (``loop3``, ``dm-0``, ``sda1``); ``detail`` holds what sysfs/mountinfo say
    (fstype, source, ``maj:min``, backing file, dm uuid).
    """

    kind: str
    name: str
    detail: dict[str, JSON] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSON]:
        """Plain JSON for evidence."""
        return {"kind": self.kind, "name": self.name, **self.detail}


@dataclass(frozen=True, kw_only=True)
class MechanismFact:
    """A mechanism found in the stack. ``layer`` names the layer it covers;
    ``encrypts`` is False for look-alikes (dm-verity, a LUKS header over linear
    segments, cipher_null); ``hint`` marks a guess from a name (an encrypting FUSE type)
    that only the canary can confirm. ``uncovered`` is metadata it leaves in plaintext."""

    kind: Mechanism
    layer: str
    encrypts: bool
    hint: bool = False
    detail: dict[str, JSON] = field(default_factory=dict)
    uncovered: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        """Plain JSON for evidence."""
        return {"kind": self.kind.value, "layer": self.layer, "encrypts": self.encrypts,
                "hint": self.hint, "uncovered": list(self.uncovered), **self.detail}


@dataclass(frozen=True, kw_only=True)
class ProbeRead:
    """One canary write-and-look: where it was written, the medium read, how, the result.

    ``found`` is None when we could not look (then ``reason``/``detail`` say why).
    ``method``: ``fiemap`` (targeted read of the located blocks) or ``scan`` (the whole
    medium). ``bytes_read`` is what the look cost.
    """

    written_in: str
    medium: str
    method: str = ""
    found: bool | None = None
    offset: int | None = None
    bytes_read: int = 0
    reason: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, JSON]:
        """Plain JSON for evidence."""
        return {"written_in": self.written_in, "medium": self.medium, "method": self.method,
                "found": self.found, "offset": self.offset, "bytes_read": self.bytes_read,
                "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True, kw_only=True)
class CanaryFacts:
    """The canary proof: ``canary`` written through the path, ``control`` written to a
    known-plaintext place on the same stack (must be found, else inconclusive)."""

    canary: ProbeRead
    control: ProbeRead | None

    def to_json(self) -> dict[str, JSON]:
        """Plain JSON for evidence."""
        return {"canary": self.canary.to_json(),
                "control": self.control.to_json() if self.control else None}


@dataclass(frozen=True, kw_only=True)
class DataPathFacts:
    """Everything observed about one data path at ``observed_at``.

    ``reason``/``detail`` are set when we could not look at the path at all (it is
    missing, the probe crashed). ``luks`` is the parsed header of a LUKS device or
    image in the stack (plain JSON), if any.
    """

    path: str
    observed_at: float
    stack: tuple[Layer, ...] = ()
    mechanisms: tuple[MechanismFact, ...] = ()
    canary: CanaryFacts | None = None
    reason: str | None = None
    detail: str = ""
    notes: tuple[str, ...] = ()

    def evidence(self) -> dict[str, Any]:
        """The facts as plain JSON evidence."""
        return {
            "path": self.path,
            "stack": [layer.to_json() for layer in self.stack],
            "mechanisms": [m.to_json() for m in self.mechanisms],
            "canary": self.canary.to_json() if self.canary else None,
            "reason": self.reason, "detail": self.detail, "notes": list(self.notes),
        }
