"""Fixtures of the at_rest tests: a real storage lab (loop-mounted ext4 with fscrypt and
gocryptfs) built once per module under a temporary root, torn down afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from seawall.lab import storage


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[str, dict[str, storage.LabCase]]]:
    """(root, cases by name) of a lab built for this module; needs root. The root is
    world-traversable so an unprivileged child can reach the paths."""
    if os.geteuid() != 0:
        pytest.skip("needs root (loop devices)")
    root = tempfile.mkdtemp(prefix="seawall-at_rest-test-")
    os.chmod(root, 0o755)
    try:
        with contextlib.ExitStack() as resources:
            cases = storage.start(resources, root, size_mib=32)
            yield root, {c.target.name: c for c in cases}
    finally:
        shutil.rmtree(root, ignore_errors=True)
