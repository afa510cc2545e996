"""fscrypt through its ioctls (linux/fscrypt.h), no extra tool needed.

- :func:`get_policy`: ``FS_IOC_GET_ENCRYPTION_POLICY_EX`` on any file or directory;
  works unprivileged. None means "not encrypted" (``ENODATA``); other errors propagate
  as OSError (``EOPNOTSUPP``: the file system has no encryption support, ``ENOTTY``:
  no fscrypt ioctls at all) for the engine to classify.
- :func:`add_key`, :func:`set_policy_v2`, :func:`remove_key`: the v2 key and policy
  ioctls the lab uses to build a really encrypted directory (root for ``add_key``).
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
from dataclasses import dataclass
from typing import Any

FS_IOC_SET_ENCRYPTION_POLICY = 0x800C6613  # _IOR('f', 19, struct fscrypt_policy_v1)
FS_IOC_GET_ENCRYPTION_POLICY_EX = 0xC0096616  # _IOWR('f', 22, __u8[9])
FS_IOC_ADD_ENCRYPTION_KEY = 0xC0506617  # _IOWR('f', 23, struct fscrypt_add_key_arg)
FS_IOC_REMOVE_ENCRYPTION_KEY = 0xC0406618  # _IOWR('f', 24, struct fscrypt_remove_key_arg)
KEY_SPEC_TYPE_IDENTIFIER = 2
MODES = {1: "AES-256-XTS", 4: "AES-256-CTS", 5: "AES-128-CBC", 6: "AES-128-CTS",
         9: "Adiantum", 10: "AES-256-HCTR2", 7: "SM4-XTS", 8: "SM4-CTS"}
_V2 = struct.Struct("BBBB4s16s")
_V1 = struct.Struct("BBBB8s")


@dataclass(frozen=True, kw_only=True)
class FscryptPolicy:
    """An fscrypt policy: version, contents and file-name modes, flags, key id (hex).

    fscrypt encrypts file contents and names; sizes, timestamps, permissions and
    xattrs stay in plaintext (``uncovered``), which is noted, not counted as a failure.
    """

    version: int
    contents_mode: str
    filenames_mode: str
    flags: int
    key_id: str

    uncovered = ("file sizes", "timestamps", "permissions", "xattrs", "directory layout")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for evidence."""
        return {"version": self.version, "contents_mode": self.contents_mode,
                "filenames_mode": self.filenames_mode, "flags": self.flags,
                "key_id": self.key_id, "uncovered": list(self.uncovered)}


def get_policy(path: str) -> FscryptPolicy | None:
    """The fscrypt policy of ``path``, or None when it is not encrypted."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        arg = bytearray(struct.pack("=Q", 24) + bytes(24))
        try:
            fcntl.ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, arg)
        except OSError as exc:
            if exc.errno == errno.ENODATA:
                return None
            raise
    finally:
        os.close(fd)
    version = arg[8]
    if version == 2:
        _, contents, names, flags, _, ident = _V2.unpack_from(arg, 8)
        key = ident.hex()
    else:
        _, contents, names, flags, desc = _V1.unpack_from(arg, 8)
        key = desc.hex()
    return FscryptPolicy(version=version, contents_mode=MODES.get(contents, str(contents)),
                         filenames_mode=MODES.get(names, str(names)), flags=flags, key_id=key)


def add_key(mountpoint: str, raw: bytes) -> bytes:
    """Add a v2 master key (32-64 random bytes) to the file system at ``mountpoint``;
    returns its 16-byte identifier. Needs root (CAP_SYS_ADMIN)."""
    arg = bytearray(struct.pack("=II32sII32s", KEY_SPEC_TYPE_IDENTIFIER, 0, bytes(32),
                                len(raw), 0, bytes(32)) + raw)
    fd = os.open(mountpoint, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, arg)
    finally:
        os.close(fd)
    return bytes(arg[8:24])


def remove_key(mountpoint: str, identifier: bytes) -> None:
    """Remove a v2 master key (wipes it from kernel memory; files become locked)."""
    arg = bytearray(struct.pack("=II32sI", KEY_SPEC_TYPE_IDENTIFIER, 0,
                                identifier.ljust(32, b"\0"), 0) + bytes(20))
    fd = os.open(mountpoint, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY, arg)
    finally:
        os.close(fd)


def set_policy_v2(directory: str, identifier: bytes, *, contents: int = 1,
                  filenames: int = 4, flags: int = 0x02) -> None:
    """Set a v2 policy (default AES-256-XTS contents, AES-256-CTS names, 16-byte name
    padding) on an empty directory, with the key ``identifier`` from :func:`add_key`."""
    policy = _V2.pack(2, contents, filenames, flags, bytes(4), identifier)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, FS_IOC_SET_ENCRYPTION_POLICY, policy)
    finally:
        os.close(fd)
