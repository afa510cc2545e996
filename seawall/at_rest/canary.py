"""The canary: a fresh random block written through a path, then looked for on the medium.

- :func:`plant` writes a fresh random (incompressible) canary, fsyncs it and its
  directory; the caller removes it afterwards (:func:`remove`).
- :func:`fiemap` locates its blocks (``FS_IOC_FIEMAP`` with ``FIEMAP_FLAG_SYNC``);
  :func:`read_extents` reads just those blocks of the medium: a few KiB.
- :func:`scan` reads the whole medium when the blocks cannot be located (FUSE, dm
  layers in between), in fixed-size chunks with a constant memory bound (one buffer of
  ``chunk`` bytes) at near sequential-read speed (figures in BENCHMARKS.md).

All reads use ``O_DIRECT`` into page-aligned ``mmap`` buffers, so the page cache of
the device cannot hand us stale or already-decrypted pages; where ``O_DIRECT`` is
refused (tmpfs-backed images), the cached pages are dropped with
``POSIX_FADV_DONTNEED`` first and the read is marked ``buffered``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import secrets
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

BLOCK = 4096
CANARY_SIZE = 4096
NEEDLE = 64  # bytes searched for: 2**-512 odds of a chance match
CHUNK = 8 * 1024 * 1024
FS_IOC_FIEMAP = 0xC020660B
BLKFLSBUF = 0x1261  # flush a block device's buffer cache (root)
FIEMAP_FLAG_SYNC = 0x1
#: extent flags meaning "the physical offset is not where these bytes sit as written"
_UNLOCATABLE = 0x2 | 0x4 | 0x8 | 0x100 | 0x200 | 0x400  # unknown, delalloc, encoded, ...
_HEAD = struct.Struct("=QQIIII")
_EXTENT = struct.Struct("=QQQQQIIII")


@dataclass(frozen=True)
class Extent:
    """One FIEMAP extent: logical and physical byte offsets, length, flags."""

    logical: int
    physical: int
    length: int
    flags: int

    @property
    def locatable(self) -> bool:
        """Whether the bytes sit as written at ``physical`` on the device."""
        return not self.flags & _UNLOCATABLE


def fresh(size: int = CANARY_SIZE) -> bytes:
    """A fresh random canary; its first :data:`NEEDLE` bytes are what we search for."""
    return secrets.token_bytes(size)


def plant(directory: str, data: bytes, *, prefix: str) -> str:
    """Write ``data`` to a new file in ``directory``, fsync file and directory; return
    its path. OSError propagates (the engine classifies it)."""
    path = os.path.join(directory, f".{prefix}-{secrets.token_hex(4)}.canary")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return path


def remove(path: str) -> None:
    """Remove a canary file; a missing one is fine."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def fiemap(path: str, *, max_extents: int = 32) -> list[Extent] | None:
    """The extents of ``path``, or None when the file system has no FIEMAP (FUSE)."""
    buf = bytearray(_HEAD.pack(0, 2**64 - 1, FIEMAP_FLAG_SYNC, 0, max_extents, 0)
                    + bytes(_EXTENT.size * max_extents))
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, FS_IOC_FIEMAP, buf)
    except OSError as exc:
        if exc.errno in (errno.ENOTTY, errno.EOPNOTSUPP, errno.ENOSYS, errno.EBADR):
            return None
        raise
    finally:
        os.close(fd)
    count = _HEAD.unpack_from(buf)[3]
    out = []
    for i in range(count):
        fields = _EXTENT.unpack_from(buf, _HEAD.size + i * _EXTENT.size)
        out.append(Extent(fields[0], fields[1], fields[2], fields[5]))
    return out


class MediumReader:
    """Reads a device or image with O_DIRECT into one aligned buffer of ``chunk`` bytes
    (plus one page in front for the overlap between chunks)."""

    def __init__(self, path: str, *, chunk: int = CHUNK) -> None:
        self.path = path
        self.chunk = chunk
        self.buffered = False
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECT | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self.fd = self._open_buffered()
        self.size = os.lseek(self.fd, 0, os.SEEK_END)
        self.buf = mmap.mmap(-1, BLOCK + chunk)
        self.bytes_read = 0

    def _open_buffered(self) -> int:
        """Open without O_DIRECT, after flushing what the page cache holds for it."""
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        self.buffered = True
        with contextlib.suppress(OSError):  # not a block device, or not root
            fcntl.ioctl(fd, BLKFLSBUF, 0)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return fd

    def close(self) -> None:
        """Release the buffer and the descriptor."""
        self.buf.close()
        os.close(self.fd)

    def __enter__(self) -> MediumReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, offset: int, length: int) -> int:
        view = memoryview(self.buf)[BLOCK:BLOCK + length]
        try:
            n = os.preadv(self.fd, [view], offset)
        except OSError as exc:
            if exc.errno != errno.EINVAL or self.buffered:
                raise
            # O_DIRECT refused at read time (some backing stores): fall back once.
            os.close(self.fd)
            self.fd = self._open_buffered()
            n = os.preadv(self.fd, [view], offset)
        finally:
            view.release()
        self.bytes_read += n
        return n

    def windows(self, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """Read [start, end) (aligned down/up to blocks) chunk by chunk; yields
        (buffer start, buffer end, medium offset of buffer start) where the buffer
        range includes the overlap carried from the previous chunk."""
        pos = start - start % BLOCK
        end = min(self.size, -(-end // BLOCK) * BLOCK)
        carry = 0
        while pos < end:
            n = self._read(pos, min(self.chunk, end - pos))
            if n <= 0:
                return
            yield BLOCK - carry, BLOCK + n, pos - carry
            carry = min(NEEDLE - 1, n)
            self.buf[BLOCK - carry:BLOCK] = self.buf[BLOCK + n - carry:BLOCK + n]
            pos += n

    def find(self, needle: bytes, start: int = 0, end: int | None = None) -> int | None:
        """Medium offset of the first ``needle`` in [start, end), or None."""
        for lo, hi, origin in self.windows(start, self.size if end is None else end):
            hit = self.buf.find(needle, lo, hi)
            if hit >= 0:
                return origin + hit - lo
        return None


def read_extents(medium: str, extents: list[Extent], needle: bytes) -> tuple[int | None, int]:
    """Look for ``needle`` only in the given extents: (offset or None, bytes read)."""
    with MediumReader(medium, chunk=256 * 1024) as reader:
        for ext in extents:
            hit = reader.find(needle, ext.physical, ext.physical + ext.length)
            if hit is not None:
                return hit, reader.bytes_read
        return None, reader.bytes_read


def scan(medium: str, needle: bytes, *, chunk: int = CHUNK,
         limit: int | None = None) -> tuple[int | None, int]:
    """Look for ``needle`` on the whole medium (or its first ``limit`` bytes):
    (offset or None, bytes read). See :func:`scan_many`."""
    hits, cost = scan_many(medium, (needle,), chunk=chunk, limit=limit)
    return hits[0], cost


def scan_many(medium: str, needles: tuple[bytes, ...], *, chunk: int = CHUNK,
              limit: int | None = None) -> tuple[list[int | None], int]:
    """Look for several needles (a canary and its control) in one pass over the medium
    (or its first ``limit`` bytes), stopping once all are found: (first offset of each
    or None, bytes read). Two buffers of ``chunk`` bytes: a reader thread fills one while
    the other is searched, so the search hides behind the I/O (BENCHMARKS.md); memory
    stays at 2 x ``chunk`` whatever the medium's size."""
    hits: list[int | None] = [None] * len(needles)
    with MediumReader(medium, chunk=chunk) as first, \
            MediumReader(medium, chunk=chunk) as second, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="seawall-scan") as pool:
        end = first.size if limit is None else min(first.size, limit)
        readers = (first, second)
        pending = pool.submit(first._read, 0, min(chunk, end)) if end > 0 else None
        pos, turn, tail = 0, 0, b""
        while pending is not None:
            n = pending.result()
            nxt = pos + n
            pending = (pool.submit(readers[1 - turn]._read, nxt, min(chunk, end - nxt))
                       if n > 0 and nxt < end else None)
            if n <= 0:
                break
            buf = readers[turn].buf
            edge = tail + buf[BLOCK:BLOCK + NEEDLE - 1]
            for i, needle in enumerate(needles):
                if hits[i] is not None:
                    continue
                at = edge.find(needle)
                if at >= 0:
                    hits[i] = pos - len(tail) + at
                elif (found := buf.find(needle, BLOCK, BLOCK + n)) >= 0:
                    hits[i] = pos + found - BLOCK
            if all(h is not None for h in hits):
                if pending is not None:
                    pending.result()
                break
            tail = buf[BLOCK + max(0, n - NEEDLE + 1):BLOCK + n]
            pos, turn = nxt, 1 - turn
        return hits, first.bytes_read + second.bytes_read
