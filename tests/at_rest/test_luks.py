"""LUKS headers made by the real cryptsetup on plain files (no device-mapper needed),
parsed in Python: what each really promises."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from seawall.at_rest import canary, luks
from seawall.lab import storage

pytestmark = pytest.mark.privileged  # cryptsetup wants its lock dir under /run


def test_luks2_header_encrypts(tmp_path: Path) -> None:
    header = luks.read_header(storage.luks_file(str(tmp_path / "l2.img"), size_mib=32))
    assert header is not None
    assert (header.version, header.cipher, header.key_bits) == (2, "aes-xts-plain64", 512)
    assert header.kdf == ("pbkdf2",)
    assert header.checksum_ok is True
    assert [s.type for s in header.segments] == ["crypt"]
    assert header.encrypts and header.problems == ()


def test_luks1_header_encrypts(tmp_path: Path) -> None:
    header = luks.read_header(storage.luks_file(str(tmp_path / "l1.img"), version=1,
                                                size_mib=8))
    assert header is not None
    assert (header.version, header.cipher, header.active_keyslots) == (1, "aes-xts-plain64", 1)
    assert header.checksum_ok is None and header.encrypts


def test_init_only_reencryption_is_header_over_plaintext(tmp_path: Path) -> None:
    secret = canary.fresh()
    path = storage.luks_file(str(tmp_path / "re.img"), plaintext_init=True, data=secret)
    header = luks.read_header(path)
    assert header is not None and header.version == 2
    assert not header.encrypts
    assert "requirement online-reencrypt-v2 pending" in header.problems
    assert any("linear" in p for p in header.problems)
    hit, _ = canary.scan(path, secret[:canary.NEEDLE])
    assert hit is not None, "the data behind the header is still plaintext"


def _rechecksum(blob: bytearray, size: int) -> None:
    blob[448:512] = bytes(64)
    blob[448:480] = hashlib.sha256(bytes(blob[:size])).digest()


def test_cipher_null_header_does_not_encrypt_and_checksum_is_verified(tmp_path: Path) -> None:
    path = storage.luks_file(str(tmp_path / "null.img"), size_mib=32)
    with open(path, "rb") as fh:
        blob = bytearray(fh.read(16384))
    size = int.from_bytes(blob[8:16], "big")
    segments = blob.index(b'"segments"', 4096)
    at = blob.index(b'"encryption":"aes-xts-plain64"', segments)
    blob[at:at + 30] = b'"encryption":"cipher_null-ecb"'  # same length, as a real edit
    tampered = luks.parse(bytes(blob))
    assert tampered.checksum_ok is False
    assert "header checksum mismatch" in tampered.problems
    _rechecksum(blob, size)
    header = luks.parse(bytes(blob))
    assert header.checksum_ok is True
    assert not header.encrypts
    assert "segment 0 uses cipher_null-ecb (no encryption)" in header.problems


def test_not_luks(tmp_path: Path) -> None:
    plain = tmp_path / "plain.img"
    plain.write_bytes(bytes(8192))
    assert luks.read_header(str(plain)) is None
    with pytest.raises(luks.LuksFormatError, match="no LUKS magic"):
        luks.parse(bytes(8192))
    with pytest.raises(luks.LuksFormatError, match="unknown LUKS version 7"):
        luks.parse(luks.MAGIC_1 + b"\x00\x07" + bytes(1000))
