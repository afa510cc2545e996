"""``python -m seawall.lab serve``: run lab servers in this process (see seawall.lab.serve).

``python -m seawall.lab list`` prints the catalogue.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from seawall.lab.catalogue import ALL_CASES
from seawall.lab.serve import serve


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m seawall.lab")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve lab cases until stdin reaches EOF")
    run.add_argument("--manifest-out", default="-", help="only '-' (stdout) is supported")
    run.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    run.add_argument("--copies", type=int, default=1)
    run.add_argument("--directory", type=Path, default=None,
                     help="where keys and certificates go (default: a temporary directory)")
    run.add_argument("--parent-pid", type=int, default=0)
    sub.add_parser("list", help="print the catalogue")
    args = parser.parse_args(argv)
    if args.command == "list":
        for case in ALL_CASES.values():
            print(f"{case.name:22} {case.host:40} {case.description}")
        return 0
    names = [n for n in args.cases.split(",") if n] or list(ALL_CASES)
    unknown = [n for n in names if n not in ALL_CASES]
    if unknown or args.manifest_out != "-" or args.copies < 1:
        parser.error(f"unknown cases {unknown}" if unknown else "bad --manifest-out/--copies")
    directory = args.directory or Path(tempfile.mkdtemp(prefix="seawall-lab-"))
    try:
        serve(names, directory, copies=args.copies, parent_pid=args.parent_pid)
    except KeyboardInterrupt:
        pass
    finally:
        if args.directory is None:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
