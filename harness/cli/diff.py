"""``dmct diff RUN_A RUN_B``: what changed between two runs (or two nightly nights), test by test.

The I/O edge of :mod:`harness.regression.diff`: it reads both sides (run directories as ``dmct run`` writes
them, or
nightly night directories holding ``runs/``), prints Rich tables or one JSON object, and exits 0 when the
diff was computed — 1 only with ``--fail-on-regression`` and a new failure or newly blocked test — and 2
on bad input (one line on stderr naming the file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ORDER = 45


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="regression diff of two runs: new failures, fixed, still failing, newly blocked, flaky, ...",
        description=(
            "Compare the latest outcome of every test in RUN_A (before) and RUN_B (after). Flaky = "
            "passed <-> failed while firmware, DCC systems and code are known to be unchanged (run.json and "
            "the nightly's provenance.json); when that is not recorded no flip is called flaky."
        ),
    )
    parser.add_argument(
        "run_a", type=Path, metavar="RUN_A", help="the earlier run directory (or nightly night)"
    )
    parser.add_argument(
        "run_b", type=Path, metavar="RUN_B", help="the later run directory (or nightly night)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when a test newly fails or is newly blocked",
    )
    parser.add_argument(
        "--limit", type=int, default=200, help="changed tests listed in the table (default 200)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.regression.diff import diff_paths, render_console

    diff = diff_paths(args.run_a, args.run_b)
    if args.json:
        sys.stdout.write(json.dumps(diff.to_json(), separators=(",", ":")) + "\n")
    else:
        from harness.reports.console import make_console

        render_console(diff, make_console(), limit=max(0, args.limit))
    return 1 if args.fail_on_regression and diff.regression else 0
