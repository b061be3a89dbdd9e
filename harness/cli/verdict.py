"""``dmct verdict``: recompute exit verdicts from a plan, results journals and a Testing Issue log.

This is the I/O edge of :mod:`harness.rules.verdict`: it finds the files (explicit options, else the run
directory given by ``--run`` or the current directory, else the project store for issues), streams the
results journals so a million lines never sit in memory at once, names the file and line of any bad
record, and prints either one JSON object or a table. It writes nothing, so bad input leaves no trace
beyond the one-line error (exit 2); a computed verdict exits 0 whatever it says.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.model.interchange import Issue, Plan
    from harness.rules.profiles import Profile

from harness.reports.console import FORMATS, default_format, make_console, print_verdict, render_table
from harness.store.journal import stream_results

__all__ = ["render_table", "stream_results"]

ORDER = 40

#: Files of a run directory ``results/<run-id>/`` (written by the pytest plugin).
RUN_PLAN = "plan.json"
RUN_RESULTS = "results.jsonl"
RUN_ISSUES = ("issues.yaml", "issues.yml", "issues.json")
#: The project store's default SQLite file, in the directory that holds the run directories.
STORE_FILE = "dmct.sqlite"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verdict",
        help="compute exit verdicts from a plan, results and the Testing Issue log",
        description=(
            "Compute the exit verdict of every plan entry (SEC Appendix AK 20.28-20.38 for DMCT, or another "
            "exit profile). Inside a run directory (results/<run-id>/) the plan, results and issues default "
            "to that run's files and the project store."
        ),
    )
    parser.add_argument("--plan", type=Path, help="plan file (YAML or JSON); default: <run>/plan.json")
    parser.add_argument(
        "--results",
        type=Path,
        action="append",
        default=[],
        metavar="R",
        help="results journal (JSON Lines); repeat for several; default: <run>/results.jsonl",
    )
    parser.add_argument(
        "--issues",
        type=Path,
        help="issues export (YAML or JSON); default: <run>/issues.yaml|json, else the store",
    )
    parser.add_argument(
        "--run",
        type=Path,
        metavar="DIR",
        help="run directory holding plan.json and results.jsonl (default: the current one)",
    )
    parser.add_argument("--store", metavar="URL", help="Testing Issue log (SQLAlchemy URL) when no --issues")
    parser.add_argument("--profile", help="exit profile (default: the plan's, else dmct)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="table: the full table; text: a compact summary never cut to the terminal width (counts per "
        "status, one line per entry not successful); json: one JSON object. Default: table on a "
        "terminal, text otherwise (CI logs, pipes)",
    )
    parser.add_argument("--json", action="store_true", help="same as --format json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.model.interchange import load_issues, load_plan
    from harness.rules.profiles import load_profile
    from harness.rules.verdict import compute_verdict

    plan_path, result_paths, issues_path, run_dir = resolve_inputs(args)
    plan = load_plan(plan_path)
    profile = _profile(args.profile, plan, plan_path, load_profile)
    notes: list[str] = []
    if issues_path:
        issues = load_issues(issues_path)
    else:
        # The project store holds the issue log and the DMCT Status List: what the latter records about
        # an entry (abandonment, 20.33 (b); the Panel's MT determination, 20.32 (c)) overlays the plan.
        issues, records = _store_issues(args.store, run_dir)
        if records:
            from harness.rules.process import overlay_plan

            plan, notes = overlay_plan(plan, records)
    index = stream_results(plan, result_paths)
    verdict = compute_verdict(plan, index, issues, profile)
    verdict.notes.extend(notes)
    fmt = "json" if args.json else args.format or default_format()
    if fmt == "json":
        # dumps, not dump: dump writes every small chunk of the encoder separately, seconds at 10 MB.
        sys.stdout.write(json.dumps(verdict.to_json(), separators=(",", ":")) + "\n")
    else:
        print_verdict(verdict, fmt, make_console())
    return 0


def resolve_inputs(args: argparse.Namespace) -> tuple[Path, list[Path], Path | None, Path | None]:
    """Explicit options win; otherwise the run directory (``--run`` or the current directory)."""
    from harness.errors import DmctInputError

    run_dir: Path | None = args.run
    if run_dir is not None and not (run_dir / RUN_PLAN).is_file():
        raise DmctInputError(str(run_dir), f"not a run directory (no {RUN_PLAN})", field="--run")
    if run_dir is None and (Path.cwd() / RUN_PLAN).is_file():
        run_dir = Path.cwd()
    plan_path: Path | None = args.plan or (run_dir / RUN_PLAN if run_dir else None)
    if plan_path is None:
        raise DmctInputError("--plan", "no plan given and no plan.json here (use --plan or --run)")
    results: list[Path] = list(args.results)
    if not results and run_dir is not None and (run_dir / RUN_RESULTS).exists():
        results = [run_dir / RUN_RESULTS]  # a run that has not recorded anything yet has no journal
    issues: Path | None = args.issues
    if issues is None and run_dir is not None:
        issues = next((run_dir / n for n in RUN_ISSUES if (run_dir / n).is_file()), None)
    return plan_path, results, issues, run_dir


def _profile(name: str | None, plan: Plan, plan_path: Path, load: Any) -> Profile:
    from harness.errors import DmctInputError
    from harness.yamlio import line_of

    if name is not None:
        profile: Profile = load(name, source="--profile")
        return profile
    try:
        profile = load(plan.profile, source=str(plan_path))
    except DmctInputError as exc:
        raise DmctInputError(
            exc.source, exc.message, field="profile", line=line_of(plan_path, ["profile"])
        ) from None
    return profile


def _store_issues(url: str | None, run_dir: Path | None) -> tuple[list[Issue], list[Any]]:
    """Issues and planned entries from the project store, or none when there is no store yet (never
    creates one).

    The store is ``--store``, else ``$DMCT_STORE``, else ``dmct.sqlite`` in the results directory (the
    run directory's parent, else ``$DMCT_RESULTS`` or ``./results``) —
    :func:`harness.store.issue_log.store_url`.
    """
    import importlib
    import os

    try:
        store = importlib.import_module("harness.store.issue_log")
    except ModuleNotFoundError as exc:
        if exc.name != "harness.store.issue_log":
            raise
        return [], []  # the store is optional for an offline recomputation
    if run_dir is not None:
        results_dir = run_dir.parent
    else:
        from harness.paths import results_dir as default_results_dir

        results_dir = default_results_dir()
    if not url and not os.environ.get("DMCT_STORE", "").strip() and not (results_dir / STORE_FILE).is_file():
        return [], []
    from harness.store.entries import EntryLog

    with store.open_store(url, results_dir=results_dir, create=False) as log:
        issues: list[Issue] = log.export_issues()
        records = [s.record for s in EntryLog(log).list()]
    return issues, records
