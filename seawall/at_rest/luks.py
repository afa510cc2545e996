"""LUKS1 and LUKS2 headers parsed in Python: what a header really promises.

A LUKS header alone proves nothing: a LUKS2 header whose active data segments are
``linear`` (an ``--encrypt --init-only`` reencryption that never ran), or any header
using ``cipher_null``, leaves the data in plaintext. :func:`parse` reads the on-disk
formats (LUKS1: cryptsetup's ``LUKS1 On-Disk Format Specification`` 1.2.3; LUKS2:
``LUKS2 On-Disk Format Specification`` 1.1.x, binary header + JSON area, checksummed
with the header's ``checksum_alg`` over the whole ``hdr_size`` with the checksum field
zeroed) and :attr:`LuksHeader.encrypts` says whether the data segments are encrypted.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

MAGIC_1 = b"LUKS\xba\xbe"
MAGIC_2_SECONDARY = b"SKUL\xba\xbe"
LUKS1_ACTIVE = 0x00AC71F3
_LUKS1 = struct.Struct(">6sH32s32s32sII20s32sI40s")
_LUKS1_SLOT = struct.Struct(">II32sII")
_LUKS2 = struct.Struct(">6sHQQ48s32s64s40s48sQ184s64s")
_CSUM_OFFSET, _CSUM_LEN = 448, 64
#: Bytes to read from the start of a device to parse any header (LUKS2 default: 16 KiB
#: metadata area; at most 4 MiB per the spec).
HEADER_READ = 4 * 1024 * 1024


class LuksFormatError(ValueError):
    """The bytes are not a (valid) LUKS header; the message says what is wrong."""


@dataclass(frozen=True, kw_only=True)
class LuksSegment:
    """One LUKS2 data segment (LUKS1 has exactly one, from the payload offset)."""

    type: str  # "crypt" or "linear"
    offset: int
    size: str  # "dynamic" or a byte count as text, as in the JSON
    encryption: str = ""  # "aes-xts-plain64", "cipher_null-ecb", "" for linear
    flags: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """Whether the segment maps data now (backup segments of a reencryption do not)."""
        return not any(f.startswith("backup-") for f in self.flags)

    @property
    def encrypts(self) -> bool:
        """A ``crypt`` segment with a real cipher."""
        return self.type == "crypt" and not self.encryption.startswith("cipher_null")


@dataclass(frozen=True, kw_only=True)
class LuksHeader:
    """What a LUKS header says: version, cipher, key size, KDF, segments and problems.

    ``checksum_ok`` is None for LUKS1 (no header checksum). ``requirements`` lists LUKS2
    mandatory requirements (``online-reencrypt-v2`` while a reencryption is pending).
    """

    version: int
    uuid: str
    cipher: str
    key_bits: int
    kdf: tuple[str, ...]
    segments: tuple[LuksSegment, ...]
    checksum_ok: bool | None = None
    requirements: tuple[str, ...] = ()
    active_keyslots: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def encrypts(self) -> bool:
        """True when every active data segment is encrypted and no reencryption of
        plaintext is pending; a header over plaintext is not encryption."""
        active = [s for s in self.segments if s.active]
        if not active or any(not s.encrypts for s in active):
            return False
        return not any("reencrypt" in r for r in self.requirements)

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the header does not encrypt (empty when it does)."""
        out = list(self.notes)
        for i, s in enumerate(self.segments):
            if s.active and s.type != "crypt":
                out.append(f"segment {i} is {s.type} (data stored in plaintext)")
            elif s.active and not s.encrypts:
                out.append(f"segment {i} uses {s.encryption} (no encryption)")
        out.extend(f"requirement {r} pending" for r in self.requirements if "reencrypt" in r)
        if self.checksum_ok is False:
            out.append("header checksum mismatch")
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for evidence."""
        return {
            "version": self.version, "uuid": self.uuid, "cipher": self.cipher,
            "key_bits": self.key_bits, "kdf": list(self.kdf),
            "segments": [{"type": s.type, "offset": s.offset, "size": s.size,
                          "encryption": s.encryption, "flags": list(s.flags)}
                         for s in self.segments],
            "checksum_ok": self.checksum_ok, "requirements": list(self.requirements),
            "active_keyslots": self.active_keyslots, "encrypts": self.encrypts,
            "problems": list(self.problems),
        }


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def is_luks(head: bytes) -> bool:
    """Whether ``head`` starts with a LUKS primary header magic."""
    return head[:6] == MAGIC_1


def parse(data: bytes) -> LuksHeader:
    """Parse a header from the first bytes of a device or file (give at least the
    LUKS2 ``hdr_size``; :data:`HEADER_READ` always suffices). Raises LuksFormatError."""
    if len(data) < _LUKS1.size or not is_luks(data):
        raise LuksFormatError("no LUKS magic at offset 0")
    version = struct.unpack_from(">H", data, 6)[0]
    if version == 1:
        return _parse_v1(data)
    if version == 2:
        return _parse_v2(data)
    raise LuksFormatError(f"unknown LUKS version {version}")


def _parse_v1(data: bytes) -> LuksHeader:
    (_, _, name, mode, hash_spec, payload, key_bytes, _, _, _, uuid) = _LUKS1.unpack_from(data)
    active = 0
    for i in range(8):
        state = _LUKS1_SLOT.unpack_from(data, _LUKS1.size + i * _LUKS1_SLOT.size)[0]
        active += state == LUKS1_ACTIVE
    cipher = f"{_text(name)}-{_text(mode)}"
    segment = LuksSegment(type="crypt", offset=payload * 512, size="dynamic", encryption=cipher)
    return LuksHeader(
        version=1, uuid=_text(uuid), cipher=cipher, key_bits=key_bytes * 8,
        kdf=(f"pbkdf2-{_text(hash_spec)}",), segments=(segment,), active_keyslots=active,
    )


def _parse_v2(data: bytes) -> LuksHeader:
    fields = _LUKS2.unpack_from(data)
    hdr_size, csum_alg, uuid, csum = fields[2], _text(fields[5]), _text(fields[7]), fields[11]
    if not 16384 <= hdr_size <= 4 * 1024 * 1024 or len(data) < hdr_size:
        raise LuksFormatError(f"LUKS2 hdr_size {hdr_size} is invalid or beyond the data read")
    checksum_ok: bool | None = None
    if csum_alg in hashlib.algorithms_available:
        blob = bytearray(data[:hdr_size])
        blob[_CSUM_OFFSET:_CSUM_OFFSET + _CSUM_LEN] = bytes(_CSUM_LEN)
        digest = hashlib.new(csum_alg, bytes(blob)).digest()
        checksum_ok = csum[:len(digest)] == digest
    area = data[4096:hdr_size].split(b"\0", 1)[0]
    try:
        meta = json.loads(area)
    except ValueError as exc:
        raise LuksFormatError(f"LUKS2 JSON area is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise LuksFormatError("LUKS2 JSON area is not an object")
    return _from_json(meta, uuid=uuid, checksum_ok=checksum_ok)


def _from_json(meta: dict[str, Any], *, uuid: str, checksum_ok: bool | None) -> LuksHeader:
    segments = []
    for key in sorted(meta.get("segments", {}), key=int):
        s = meta["segments"][key]
        segments.append(LuksSegment(
            type=str(s.get("type", "?")), offset=int(s.get("offset", 0)),
            size=str(s.get("size", "dynamic")), encryption=str(s.get("encryption", "")),
            flags=tuple(s.get("flags", ())),
        ))
    slots = meta.get("keyslots", {})
    kdf = tuple(sorted({str(s.get("kdf", {}).get("type", "?")) for s in slots.values()
                        if s.get("type") == "luks2"}))
    key_bits = max((int(s.get("key_size", 0)) * 8 for s in slots.values()
                    if s.get("type") == "luks2"), default=0)
    cipher = next((s.encryption for s in segments if s.active and s.encryption), "")
    if not cipher:
        cipher = next((str(s.get("area", {}).get("encryption", "")) for s in slots.values()
                       if s.get("type") == "luks2"), "")
    reqs = meta.get("config", {}).get("requirements", {}).get("mandatory", [])
    notes = ("header only: keyslot cipher shown, no data segment encrypts",) if not any(
        s.type == "crypt" for s in segments) else ()
    return LuksHeader(
        version=2, uuid=uuid, cipher=cipher, key_bits=key_bits, kdf=kdf,
        segments=tuple(segments), checksum_ok=checksum_ok,
        requirements=tuple(str(r) for r in reqs),
        active_keyslots=sum(1 for s in slots.values() if s.get("type") == "luks2"),
        notes=notes,
    )


def read_header(path: str) -> LuksHeader | None:
    """Read and parse the header at the start of ``path`` (a device or file); None when
    there is no LUKS magic. OSError propagates (the engine classifies it)."""
    with open(path, "rb", buffering=0) as fh:
        head = fh.read(4096)
        if not is_luks(head):
            return None
        if struct.unpack_from(">H", head, 6)[0] == 2:
            size = struct.unpack_from(">Q", head, 8)[0]
            head += fh.read(max(0, min(size, HEADER_READ) - len(head)))
    return parse(head)
