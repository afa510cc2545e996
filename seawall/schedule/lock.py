"""One run of a schedule at a time, also across processes: an ``flock`` per schedule.

The lock file is ``<state_dir>/locks/<schedule>.lock``. ``flock`` is released by the
kernel when its holder dies, so a crashed scheduler never leaves a stale lock behind;
the descriptor is not inherited by the child run (Python's default), so a killed
scheduler frees the schedule even if an orphaned child lingers.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class ScheduleLock:
    """A non-blocking exclusive lock on one schedule."""

    def __init__(self, directory: Path, schedule: str) -> None:
        self.path = directory / f"{schedule}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if free; return False at once if another run holds it."""
        if self._fd is not None:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock back (a no-op when not held)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
