"""Benchmark of the at_rest canary reads (run as root).

1. Full scan: ``canary.scan`` (O_DIRECT, one aligned buffer, needle absent so every byte
   is read and searched) over an image of random data, on the file and on a loop device
   over it, against two plain sequential reads of the same bytes: ``dd iflag=direct`` and
   a Python O_DIRECT read loop without searching. Also the peak RSS growth (memory bound).
2. Targeted read: bytes read to prove the fscrypt and plain cases of the storage lab
   (FIEMAP-located blocks only).

    python bench/at_rest.py [--mib 512] [--repeat 3] [--dir /var/tmp]
"""

from __future__ import annotations

import argparse
import contextlib
import mmap
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from seawall.at_rest import canary, engine
from seawall.at_rest.policy import DataPathPolicy
from seawall.lab import storage


def drop_caches() -> None:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as fh:
        fh.write("3\n")


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    drop_caches()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def dd(path: str) -> None:
    subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=8M", "iflag=direct"],
                   check=True, capture_output=True)


def python_read(path: str, chunk: int = canary.CHUNK) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, chunk)
    try:
        pos = 0
        while n := os.preadv(fd, [buf], pos):
            pos += n
    finally:
        buf.close()
        os.close(fd)


def scan(path: str, chunk: int) -> None:
    hit, _ = canary.scan(path, canary.fresh(canary.NEEDLE), chunk=chunk)
    assert hit is None


def full_scan(directory: str, mib: int, repeat: int) -> None:
    image = os.path.join(directory, f"seawall-bench-{os.getpid()}.img")
    loop = ""
    try:
        with open(image, "wb") as fh:
            for _ in range(mib):
                fh.write(os.urandom(1 << 20))
        loop = subprocess.run(["losetup", "--find", "--show", image], check=True,
                              capture_output=True, text=True).stdout.strip()
        size = mib * (1 << 20)
        print(f"image: {mib} MiB random data in {directory}; loop device {loop}")
        print(f"load before: {os.getloadavg()}")
        print(f"| read of the same bytes | medium | MB/s (median of {repeat}) "
              "| vs dd, same round (median) |")
        print("|---|---|---|---|")
        for medium in (image, loop):
            # Rounds interleave the readers so a load spike from others on the same
            # cores hits all of them alike; the ratio is taken within each round.
            runs: dict[str, list[float]] = {}
            readers = {
                "dd bs=8M iflag=direct": lambda m=medium: dd(m),
                "Python O_DIRECT read loop, 8 MiB": lambda m=medium: python_read(m),
                "canary.scan chunk 1 MiB": lambda m=medium: scan(m, 1 << 20),
                "canary.scan chunk 8 MiB (default)": lambda m=medium: scan(m, 8 << 20),
            }
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            for _ in range(repeat):
                for name, fn in readers.items():
                    runs.setdefault(name, []).append(timed(fn))
            grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
            base = runs["dd bs=8M iflag=direct"]
            for name, times in runs.items():
                ratio = statistics.median(b / t for b, t in zip(base, times, strict=True))
                print(f"| {name} | {'file' if medium == image else 'loop'} | "
                      f"{size / statistics.median(times) / 1e6:.0f} | {ratio * 100:.0f}% |")
            print(f"| peak RSS growth over all rounds | {'file' if medium == image else 'loop'}"
                  f" | +{grew} KiB | |")
        print(f"load after: {os.getloadavg()}")
    finally:
        if loop:
            subprocess.run(["losetup", "-d", loop], check=False)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(image)


def targeted() -> None:
    root = tempfile.mkdtemp(prefix="seawall-bench-at_rest-")
    try:
        with contextlib.ExitStack() as resources:
            cases = storage.start(resources, root, size_mib=64)
            print("| lab case | method | canary bytes read | control bytes read |")
            print("|---|---|---|---|")
            for case in cases:
                facts = engine.inspect(case.target, DataPathPolicy(), prefix="seawall-bench")
                assert facts.canary and facts.canary.control
                c, k = facts.canary.canary, facts.canary.control
                print(f"| {case.target.name} | {c.method} | {c.bytes_read / 1024:.0f} KiB | "
                      f"{k.bytes_read / 1024:.0f} KiB |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default="/var/tmp")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (drop_caches, loop devices)", file=sys.stderr)
        return 2
    print(f"command: python bench/at_rest.py --mib {args.mib} --repeat {args.repeat} "
          f"--dir {args.dir}")
    full_scan(args.dir, args.mib, args.repeat)
    targeted()
    return 0


if __name__ == "__main__":
    sys.exit(main())
