"""The canary search: exact offsets across chunk boundaries, bounded reads, FIEMAP."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.at_rest import canary


def image(tmp_path: Path, size: int, at: int, needle: bytes) -> str:
    path = tmp_path / "medium.img"
    with open(path, "wb") as fh:
        fh.truncate(size)
        fh.seek(at)
        fh.write(needle)
    return str(path)


@pytest.mark.parametrize("at", [0, 4096 - 10, 65536 - 63, 65536 - 1, 65536, 3 * 65536 + 17])
def test_scan_finds_the_needle_anywhere_even_across_chunks(tmp_path: Path, at: int) -> None:
    needle = canary.fresh(canary.NEEDLE)
    path = image(tmp_path, 4 * 65536, at, needle)
    hit, cost = canary.scan(path, needle, chunk=65536)
    assert hit == at
    assert cost <= 4 * 65536


def test_scan_reports_absence_after_reading_everything(tmp_path: Path) -> None:
    needle = canary.fresh(canary.NEEDLE)
    path = image(tmp_path, 1 << 20, 0, b"")
    assert canary.scan(path, needle, chunk=65536) == (None, 1 << 20)
    assert canary.scan(path, needle, chunk=65536, limit=65536) == (None, 65536)


def test_plant_fiemap_and_targeted_read(tmp_path: Path) -> None:
    data = canary.fresh()
    written = canary.plant(str(tmp_path), data, prefix="seawall-test")
    assert Path(written).read_bytes() == data
    extents = canary.fiemap(written)
    if extents is None:
        pytest.skip("the file system under tmp_path has no FIEMAP")
    assert sum(e.length for e in extents) >= len(data)
    canary.remove(written)
    canary.remove(written)  # idempotent
    assert not Path(written).exists()


def test_extent_flags() -> None:
    assert canary.Extent(0, 4096, 4096, 0x1 | 0x80).locatable  # last, data encrypted
    assert not canary.Extent(0, 0, 4096, 0x200).locatable  # inline data
    assert not canary.Extent(0, 0, 4096, 0x8).locatable  # encoded (compressed)


def test_scan_many_finds_each_needle_in_one_pass(tmp_path: Path) -> None:
    present, absent = canary.fresh(canary.NEEDLE), canary.fresh(canary.NEEDLE)
    path = image(tmp_path, 4 * 65536, 2 * 65536 - 20, present)
    hits, cost = canary.scan_many(path, (absent, present), chunk=65536)
    assert hits == [None, 2 * 65536 - 20]
    assert cost == 4 * 65536  # one pass, not two
    hits, cost = canary.scan_many(path, (present,), chunk=65536)
    assert hits == [2 * 65536 - 20] and cost <= 4 * 65536
