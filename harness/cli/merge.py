"""``dmct merge RUN... -o DIR``: several hosts' runs of one night as one run directory.

The I/O edge of :mod:`harness.regression.merge`. The merged directory is an ordinary run directory: ``dmct
verdict
--run DIR``, ``dmct report`` and ``dmct evidence`` take it as they take a run of one host. Conflicting
plans or duplicate run ids are one line on stderr naming the file (exit 2) and nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

ORDER = 46


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="merge the run directories of several harness hosts into one run",
        description=(
            "Merge run directories (parts of one night: other rigs, entries, or halves of a pack) into one "
            "run directory whose verdict equals that of the same results produced in one run."
        ),
    )
    parser.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run directories to merge")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="DIR", help="the merged run directory (new)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.regression.merge import merge_runs

    facts = merge_runs(args.runs, args.output)
    lines = sum(int(p.get("merged_lines", 0)) for p in facts["merged_from"])
    entries: list[str] = facts["entries"]
    named = ", ".join(entries[:5]) + (f", … ({len(entries)} in all)" if len(entries) > 5 else "")
    print(
        f"dmct merge: {args.output}: {len(facts['merged_from'])} run(s), {lines} result line(s), "
        f"entries {named or 'none'}; judge it with: dmct verdict --run {args.output}"
    )
    return 0
