"""The ``dmct`` command line: one sub-command per module of this package.

Every sub-command module exposes ``register(subparsers)``, which adds its parser and sets
``func=<callable(args) -> int>``, and may set ``ORDER`` (an int) to place itself in ``--help``. Modules
are discovered, so adding a command never edits this file; they import heavy libraries inside ``func``
so that ``dmct --help`` stays instant. Bad input anywhere surfaces as :class:`DmctInputError` and is printed
here as one line on stderr with its exit status (2 for bad input, 4 for a conflict, 5 for a busy
store: ``docs/exit-codes.md``) — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import sys
from collections.abc import Sequence
from types import ModuleType

from harness import version
from harness.errors import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, DmctInputError


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


def one_line(text: str) -> str:
    """An error message as exactly one printable line: line breaks (a YAML parser's multi-line
    message, an id given with a newline in it) become spaces, other control characters (a terminal
    escape sequence in a hostile id) are shown escaped."""
    text = re.sub(r"\s*[\r\n]+\s*", " ", text.strip())
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        status: int = args.func(args)
        sys.stdout.flush()
    except DmctInputError as exc:
        print(f"dmct: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dmct: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``dmct issues migrate --sql | head``): what it wanted it has; say nothing.
        # Python would complain again when flushing stdout at exit, so point stdout at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # the backstop for a file problem a command did not foresee: still one line
        where = exc.filename if exc.filename is not None else "dmct"
        print(f"dmct: error: {one_line(f'{where}: {exc.strerror or exc}')}", file=sys.stderr)
        return EXIT_INPUT
    return status
