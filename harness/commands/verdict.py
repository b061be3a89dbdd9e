"""``dmct verdict``: recompute exit verdicts from a plan, results journals and a Testing Issue log.

This is the I/O edge of :mod:`harness.verdict`: it finds the files (explicit options, else the run
directory given by ``--run`` or the current directory, else the project store for issues), streams the
results journals so a million lines never sit in memory at once, names the file and line of any bad
record, and prints either one JSON object or a table. It writes nothing, so bad input leaves no trace
beyond the one-line error (exit 2); a computed verdict exits 0 whatever it says.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from harness.interchange import Issue, Plan
    from harness.profiles import Profile
    from harness.verdict import ResultIndex, Verdict

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
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.interchange import load_issues, load_plan
    from harness.profiles import load_profile
    from harness.verdict import compute_verdict

    plan_path, result_paths, issues_path, run_dir = resolve_inputs(args)
    plan = load_plan(plan_path)
    profile = _profile(args.profile, plan, plan_path, load_profile)
    issues = load_issues(issues_path) if issues_path else _store_issues(args.store, run_dir)
    index = stream_results(plan, result_paths)
    verdict = compute_verdict(plan, index, issues, profile)
    if args.json:
        # dumps, not dump: dump writes every small chunk of the encoder separately, seconds at 10 MB.
        sys.stdout.write(json.dumps(verdict.to_json(), separators=(",", ":")) + "\n")
    else:
        from rich.console import Console

        render_table(verdict, Console())
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
    if not results and run_dir is not None and (run_dir / RUN_RESULTS).is_file():
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


def stream_results(plan: Plan, paths: Sequence[Path], *, keep_records: bool = False) -> ResultIndex:
    """Fold every journal into a :class:`ResultIndex`, naming file, line and field of a bad record.

    The cyclic garbage collector is paused meanwhile: the fold allocates millions of short-lived
    containers and no cycles, and the collector's repeated passes over the growing index cost a quarter
    of the time at a million lines.
    """
    import gc

    paused = gc.isenabled()
    gc.disable()
    try:
        return _stream(plan, paths, keep_records)
    finally:
        if paused:
            gc.enable()


def _stream(plan: Plan, paths: Sequence[Path], keep_records: bool) -> ResultIndex:
    from harness.errors import DmctInputError
    from harness.verdict import ResultIndex

    index = ResultIndex(plan, keep_records=keep_records)
    for path in paths:
        source = str(path)
        try:
            handle = path.open(encoding="utf-8")
        except FileNotFoundError:
            raise DmctInputError(source, "file not found") from None
        except OSError as exc:
            raise DmctInputError(source, f"cannot read: {exc.strerror}") from None
        with handle:
            try:
                add = index.add_line
                for number, text in enumerate(handle, start=1):
                    if not text.isspace() and text:
                        add(text, source, number)
            except UnicodeDecodeError:
                raise DmctInputError(source, "not UTF-8 text") from None
    return index


def _store_issues(url: str | None, run_dir: Path | None) -> list[Issue]:
    """Issues from the project store, or none when there is no store yet (never creates one).

    The store is ``--store``, else ``$DMCT_STORE``, else ``dmct.sqlite`` in the results directory (the
    run directory's parent, else ``$DMCT_RESULTS`` or ``./results``) — :func:`harness.store.store_url`.
    """
    import importlib
    import os

    try:
        store = importlib.import_module("harness.store")
    except ModuleNotFoundError as exc:
        if exc.name != "harness.store":
            raise
        return []  # the store is optional for an offline recomputation
    if run_dir is not None:
        results_dir = run_dir.parent
    else:
        from harness.paths import results_dir as default_results_dir

        results_dir = default_results_dir()
    if not url and not os.environ.get("DMCT_STORE", "").strip() and not (results_dir / STORE_FILE).is_file():
        return []
    with store.open_store(url, results_dir=results_dir, create=False) as log:
        issues: list[Issue] = log.export_issues()
    return issues


_STYLE = {"successful": "green", "unsuccessful": "red", "in_progress": "yellow", "awaiting_tag": "magenta"}


def render_table(verdict: Verdict, console: Console) -> None:
    """A readable table of ``verdict`` (reused by ``dmct run``): one row per entry, then the aggregate.

    On a narrow terminal the reasons move under the table so the counts stay legible.
    """
    from rich import box
    from rich.table import Table

    profile = verdict.profile
    inline = console.width >= 140
    table = Table(
        title=f"{profile.title} [{profile.name}]",
        show_lines=inline,
        box=box.SQUARE if inline else box.SIMPLE_HEAD,
        caption="n/e = planned, not executed; extant = by severity 1/2/3/4/5",
    )
    table.add_column("entry", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for name in ("plan", "exec", "pass", "fail", "n/e"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("rate", justify="right", no_wrap=True)
    table.add_column("extant", no_wrap=True)
    if inline:
        table.add_column("reasons", ratio=1, min_width=30, overflow="fold")
    details: list[tuple[str, list[str]]] = []
    for entry_id, ev in verdict.entries.items():
        rate = "-" if ev.pass_rate is None else f"{ev.pass_rate * 100:.1f}%"
        extant = "/".join(str(ev.extant.get(s, 0)) for s in range(1, 6))
        reasons = list(ev.reasons)
        if ev.evidence_gaps:
            reasons.append(f"20.34 (d): {len(ev.evidence_gaps)} failed test(s) with no linked Testing Issue")
        row = [
            entry_id,
            f"[{_STYLE[ev.status]}]{ev.status}[/]",
            str(ev.planned),
            str(ev.executed),
            str(ev.passed),
            str(ev.failed),
            str(ev.not_executed),
            rate,
            extant,
        ]
        if inline:
            row.append("\n".join(reasons))
        else:
            details.append((entry_id, reasons))
        table.add_row(*row)
    console.print(table)
    for entry_id, reasons in details:
        console.print(f"[bold]{entry_id}[/]", highlight=False)
        for reason in reasons:
            console.print(f"  - {reason}", highlight=False)
    agg = "/".join(str(verdict.aggregate_extant.get(s, 0)) for s in range(1, 6))
    limits = "; ".join(
        f"{scope} {'/'.join(str(t.limits[s]) for s in range(1, 6))} ({t.clause})"
        for scope, t in profile.thresholds.items()
    )
    console.print(f"aggregate extant: {agg}" + (f"   limits: {limits}" if limits else ""), highlight=False)
    for item in verdict.exceeded:
        where = f" {item['key']}" if item["key"] else ""
        console.print(
            f"[red]exceeded[/] {item['clause']}: {item['scope']}{where} "
            f"severity {item['severity']}: {item['extant']} > {item['limit']}",
            highlight=False,
        )
    counts = ", ".join(f"{n} {s}" for s, n in verdict.statuses().items() if n)
    console.print(f"{len(verdict.entries)} × {profile.unit}: {counts or 'none'}", highlight=False)
    for note in verdict.notes:
        console.print(f"note: {note}", highlight=False)
