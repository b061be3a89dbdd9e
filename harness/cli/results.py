"""``dmct results``: share results journals between harness hosts through the store.

``push`` copies a run directory's plan, journal and facts into the store (idempotent: re-pushing adds
nothing); ``pull`` writes runs back as a run directory that ``dmct verdict --run DIR`` judges; ``list``
shows what the store holds. The store is the Testing Issue log's (``--store``, ``$DMCT_STORE``, else
``results/dmct.sqlite``): a PostgreSQL store is what several hosts share. See
:mod:`harness.store.results` for what is kept and why; bad input is one line, exit status 2, nothing
written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError

ORDER = 45


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "results",
        help="share results journals through the store: push a run directory, pull runs back, list",
        description="Share results journals between harness hosts through the store (PostgreSQL or SQLite).",
    )
    parser.set_defaults(func=_run, results_parser=parser)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        metavar="URL",
        help="SQLAlchemy URL of the store (default: $DMCT_STORE, else sqlite:///results/dmct.sqlite)",
    )
    sub = parser.add_subparsers(dest="results_command", metavar="ACTION")

    p = sub.add_parser(
        "push",
        parents=[common],
        help="copy run directories' plan, journal and run.json into the store (idempotent)",
        description="Copy run directories (results/<run-id>/) into the store; lines it has are skipped.",
    )
    p.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    p.add_argument(
        "--run-id", metavar="ID", help="store under this run id (default: run.json's run_id, else the name)"
    )
    p.add_argument("--by", metavar="NAME", help="who is pushing (default: $DMCT_USER, else OS user)")
    p.set_defaults(handler=_push)

    p = sub.add_parser(
        "pull",
        parents=[common],
        help="write runs from the store as a run directory for dmct verdict --run DIR",
        description="Write the runs' journal lines (all hosts), plan and run.json into DIR.",
    )
    p.add_argument(
        "--run-id", dest="run_ids", action="append", default=[], metavar="ID", help="run to pull (repeatable)"
    )
    p.add_argument("-o", "--output", required=True, type=Path, metavar="DIR", help="run directory to write")
    p.add_argument("--force", action="store_true", help="replace a results.jsonl already in DIR")
    p.set_defaults(handler=_pull)

    p = sub.add_parser("list", parents=[common], help="runs in the store, with lines, pushes and hosts")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_list)


def _run(args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    if handler is None:
        args.results_parser.print_help()
        return 2
    status: int = handler(args)
    return status


def _push(args: argparse.Namespace) -> int:
    from harness.store.issue_log import open_store, resolve_actor
    from harness.store.results import PLAN_FILE, push_run

    actor = resolve_actor(args.by)
    if args.run_id is not None and len(args.run_dirs) > 1:
        raise DmctInputError("--run-id", "give one RUN_DIR with --run-id")
    for run_dir in args.run_dirs:  # checked before the store is opened (or a SQLite file created)
        if not (run_dir / PLAN_FILE).is_file():
            raise DmctInputError(str(run_dir), f"not a run directory (no {PLAN_FILE})")
    with open_store(args.store) as store:
        for run_dir in args.run_dirs:
            pushed = push_run(store, run_dir, actor, run_id=args.run_id)
            print(f"{pushed.run_id}: {pushed.lines} lines, {pushed.added} new, into {store.url}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    from harness.store.issue_log import open_store
    from harness.store.results import pull_runs

    if not args.run_ids:
        raise DmctInputError("--run-id", "give at least one run id (dmct results list shows them)")
    with open_store(args.store, create=False) as store:
        pulled = pull_runs(store, args.run_ids, args.output, force=args.force)
    print(
        f"{pulled.lines} lines of {', '.join(pulled.run_ids)} into {pulled.directory}; "
        f"judge with: dmct verdict --run {pulled.directory}"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    import json

    from harness.store.issue_log import open_store
    from harness.store.results import list_runs

    with open_store(args.store, create=False) as store:
        runs = list_runs(store)
        url = store.url
    if args.json:
        print(json.dumps([r.to_json() for r in runs], indent=1))
        return 0
    from rich import box
    from rich.table import Table

    from harness.reports.console import make_console

    table = Table(title=f"Runs in {url} ({len(runs)})", box=box.SIMPLE_HEAD)
    for column in ("run id", "lines", "pushes", "hosts", "last pushed"):
        table.add_column(column, justify="right" if column in ("lines", "pushes") else "left")
    for r in runs:
        table.add_row(r.run_id, str(r.lines), str(r.pushes), ", ".join(r.hosts), r.last_pushed)
    make_console().print(table)
    return 0
