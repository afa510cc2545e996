"""``python -m seawall.agent listen|probe``: see :mod:`seawall.agent`."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Dispatch the subcommand; 2 for a usage error."""
    if len(argv) != 1 or argv[0] not in ("listen", "probe"):
        sys.stderr.write("usage: python -m seawall.agent listen|probe  (config as JSON on stdin)\n")
        return 2
    if argv[0] == "listen":
        from seawall.agent import listen

        return listen.main()
    from seawall.agent import probe

    return probe.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
