"""The ``dmct`` command line: one sub-command per module of this package.

Every sub-command module exposes ``register(subparsers)``, which adds its parser and sets
``func=<callable(args) -> int>``, and may set ``ORDER`` (an int) to place itself in ``--help``. Modules
are discovered, so adding a command never edits this file; they import heavy libraries inside ``func``
so that ``dmct --help`` stays instant. Bad input anywhere surfaces as :class:`DmctInputError` and is printed
here as one line on stderr with exit status 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from harness import version
from harness.errors import DmctInputError


def _command_modules() -> list[ModuleType]:
    found = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    ]
    return sorted(found, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dmct",
        description="SMETS1 Device Model Combination Testing harness (SEC Appendix AK, clause 20).",
    )
    parser.add_argument("--version", action="version", version=f"dmct {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        status: int = args.func(args)
    except DmctInputError as exc:
        print(f"dmct: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dmct: interrupted", file=sys.stderr)
        return 130
    return status
