"""``dmct ttm``: Test Traceability Matrix coverage of the packs (and of a run's results)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

ORDER = 40


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "ttm", help="traceability: requirements with no test, unknown requirements, planned tests not run"
    )
    parser.add_argument("packs", nargs="*", type=Path, help="pack directories (default: the standard packs)")
    parser.add_argument("--run", type=Path, help="a run directory: also list planned tests not executed")
    parser.add_argument(
        "--release",
        choices=("IOC", "MOC", "FOC"),
        help="Capability Release whose pack manifests to read (default: the --run entry's, else IOC)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write the TTM as a static HTML page, one anchor per requirement id (the Allure "
        "report's requirement links open FILE#<id>; `make report` writes it beside the report)",
    )
    parser.set_defaults(func=_ttm)


class _Collector:
    """A pytest plugin that records each collected pack test's requirement marks."""

    def __init__(self, manifests: dict[Path, Any]) -> None:
        self.manifests = manifests
        self.marks: list[Any] = []

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        from harness.model.packs import find_pack_root, test_id
        from harness.model.ttm import TestMarks

        for item in items:
            root = find_pack_root(Path(item.path))
            if root is None or root.resolve() not in self.manifests:
                continue
            manifest = self.manifests[root.resolve()]
            reqs = tuple(r for m in item.iter_markers("dmct_requirement") for r in m.args)
            self.marks.append(
                TestMarks(manifest.id, test_id(Path(item.path), root.resolve(), item.nodeid), reqs)
            )


def collect_marks(paths: list[Path], manifests: dict[Path, Any]) -> list[Any]:
    """Collect (without running) the tests under ``paths`` and return their requirement marks."""
    import pytest

    from harness.errors import DmctInputError

    collector = _Collector(manifests)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = pytest.main(
            ["--collect-only", "-q", "-p", "no:cacheprovider", *map(str, paths)], plugins=[collector]
        )
    if status not in (0, 5):
        last = out.getvalue().strip().splitlines()[-1:] or ["collection failed"]
        raise DmctInputError(", ".join(map(str, paths)), f"could not collect the packs: {last[0]}")
    return collector.marks


def _ttm(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from harness.errors import DmctInputError
    from harness.model.packs import discover, standard_packs_dir
    from harness.model.ttm import coverage, load_catalogue

    for pack in args.packs:
        if not pack.is_dir():
            raise DmctInputError(str(pack), "no such pack directory")
    if args.run is not None and not (args.run / "plan.json").is_file():
        raise DmctInputError(str(args.run), "not a run directory (no plan.json)", field="--run")
    paths = args.packs or [standard_packs_dir()]
    manifests = discover(paths, args.release or _release_of_run(args.run))
    catalogue = load_catalogue(manifests)
    results = None
    planned: dict[str, list[str]] = {}
    if args.run is not None:
        from harness.model.interchange import load_plan
        from harness.store.journal import stream_results

        plan = load_plan(args.run / "plan.json")
        results = stream_results(plan, [args.run / "results.jsonl"]).latest()
        if len(plan.entries) == 1:  # the entry's own lists (20.17): what its run planned
            planned = dict(plan.entries[0].tests or {})
    marks = collect_marks(list(manifests), manifests)  # after the run is read: collecting takes seconds
    report = coverage(catalogue, marks, manifests.values(), results, planned)
    if args.html is not None:
        from harness.outputs import atomic_write
        from harness.reports.ttm_page import render_ttm_html

        page = render_ttm_html(catalogue, report, manifests.values(), ran=results is not None)
        atomic_write(args.html, page)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "packs": [
                        {
                            "id": m.id,
                            "version": m.version,
                            "capability_release": m.capability_release,
                            "manifest": m.source.name,
                            "standard": m.standard,
                        }
                        for m in manifests.values()
                    ],
                    "requirements": len(catalogue.requirements),
                    "uncovered": report.uncovered,
                    "unknown": [{"pack": p, "test": t, "requirement": r} for p, t, r in report.unknown],
                    "untraced": [{"pack": p, "test": t} for p, t in report.untraced],
                    "not_executed": [{"pack": p, "test": t} for p, t in report.not_executed],
                    "groups": {g: vars(c) for g, c in sorted(report.groups.items())},
                },
                indent=1,
            )
        )
        return 0 if report.ok else 1
    console = Console()
    console.print("packs: " + ", ".join(m.label for m in manifests.values()))
    table = Table(title=f"TTM coverage: {len(catalogue.requirements)} requirements")
    for col in ("functional group", "requirements", "covered", "planned tests", "executed"):
        table.add_column(col, justify="left" if col == "functional group" else "right")
    for name, c in sorted(report.groups.items()):
        table.add_row(
            name,
            str(c.requirements),
            str(c.covered),
            str(c.tests),
            str(c.executed) if results is not None else "-",
        )
    console.print(table)
    console.print(f"requirements with no test: {len(report.uncovered)}")
    for pack, test, req in report.unknown:
        console.print(f"[red]error[/]: {pack}:{test} names requirement {req!r} the TTM lacks")
    for pack, test in report.untraced:
        console.print(f"[yellow]warning[/]: {pack}:{test} names no requirement")
    if results is not None:
        console.print(f"planned tests not executed: {len(report.not_executed)}")
    if not report.ok:
        print("dmct ttm: tests name requirements the TTM lacks", file=sys.stderr)
    return 0 if report.ok else 1


def _release_of_run(run: Path | None) -> Any:
    """The Capability Release of the entry a run tested (its ``run.json``), else IOC."""
    if run is None or not (run / "run.json").is_file():
        return "IOC"
    try:
        entry = json.loads((run / "run.json").read_text(encoding="utf-8")).get("entry")
    except (OSError, ValueError):
        return "IOC"
    release = entry.get("capability_release") if isinstance(entry, dict) else None
    return release if release in ("IOC", "MOC", "FOC") else "IOC"
