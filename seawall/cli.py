"""The ``seawall`` command: ``config check``, and the command groups other modules add.

Each group lives in its own module exposing ``register(subparsers)``, which adds its
parser(s) and sets ``func`` (a callable taking the parsed args and returning an exit
code). Bad input exits 2 with one line naming file, key and fix; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from seawall import config as config_module
from seawall.errors import ConfigError, SeawallError

#: Modules that add command groups (``seawall monitors ...``, ``seawall schedule ...``).
GROUPS: tuple[str, ...] = ("seawall.schedule.command", "seawall.monitors", "seawall.evidence_cli")

USAGE_ERROR = 2


def _config_check(args: argparse.Namespace) -> int:
    path = config_module.locate(args.config, flag="--config")
    loaded = config_module.load(path)
    if loaded.lab:
        print("no config file (--config, SEAWALL_CONFIG or ./seawall.toml): the embedded lab")
    else:
        print(f"{loaded.source}: OK")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered group."""
    parser = argparse.ArgumentParser(prog="seawall", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cfg = sub.add_parser("config", help="configuration commands")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = cfg_sub.add_parser("check", help="load the config file and report the first problem")
    check.add_argument("--config", metavar="PATH", help="config file (default: as pytest finds it)")
    check.set_defaults(func=_config_check)
    for name in GROUPS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script. Returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"seawall: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except SeawallError as exc:
        print(f"seawall: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
