"""``dmct defects coverage``: prove the pack tests can fail, against the virtual lab's seeded defects.

Each *session* is one pytest run of the packs (or of the tests a killer plan lists) against a copy of
the lab file with one seeded defect switched on, served by its own ``dmct lab up``; the ``clean``
session runs the same tests on the lab file as it is. Sessions run side by side (``-j``): most of a
session is waiting on simulated devices, so two or three per core keep the machine busy. Each session
leases rigs in a directory of its own, so the copies of ``rig-1`` never queue behind each other.

Writes ``<out>/matrix.json`` (outcome per session per test) and ``<out>/coverage.json`` with both
figures: the per-test coverage and the **defect detection rate** (share of the catalogue's defects
applicable to the DMC that make at least one planned test fail); with ``--write-killers`` also a
defect-indexed killer plan chosen from the matrix (see :mod:`harness.rules.defects`).
Exit status: 0 when the coverage reaches ``--min-coverage``, the detection rate ``--min-detection``
and every applicable test passed clean, 1 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ORDER = 45
SESSION_TIMEOUT_S = 900.0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "defects", help="defect detection coverage: show every pack test can fail (virtual lab)"
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    cov = verbs.add_parser(
        "coverage",
        help="run the packs clean and with each seeded defect; report which tests fail against which",
    )
    cov.add_argument("--lab", type=Path, default=Path("labs/virtual.yaml"), help="virtual lab file")
    cov.add_argument("--entry", help="planned EPCL entry (default: the lab's default entry)")
    cov.add_argument(
        "--pack", action="append", type=Path, help="pack directory (default: the standard packs)"
    )
    cov.add_argument(
        "--defect",
        action="append",
        metavar="ROLE:NAME",
        help="only these defects (default: every applicable); with --killers, the clean session runs only "
        "their planned tests too",
    )
    cov.add_argument(
        "--killers",
        type=Path,
        help="run a killer plan (each defect against the tests it must fail) instead of the full matrix",
    )
    cov.add_argument("--write-killers", type=Path, help="write a killer plan chosen from the full matrix")
    cov.add_argument("--no-clean", action="store_true", help="skip the clean session (coverage then unknown)")
    cov.add_argument("-j", "--jobs", type=int, default=2, help="sessions side by side (default 2)")
    cov.add_argument("-n", "--workers", default="0", help="pytest-xdist workers per session (default 0)")
    cov.add_argument("-o", "--out", type=Path, help="output directory (default results/defects-<time>)")
    cov.add_argument("--min-coverage", type=float, default=1.0, help="exit 1 below this share (default 1.0)")
    cov.add_argument(
        "--min-detection",
        type=float,
        help="exit 1 below this defect detection rate (default 1.0; 0 with --defect)",
    )
    cov.add_argument("--json", action="store_true", help="print coverage.json instead of the table")
    cov.set_defaults(func=_coverage)


@dataclass(frozen=True)
class Session:
    """One pytest run: ``key`` is ``clean`` or a defect; ``tests`` are test keys (None: whole packs)."""

    key: str
    lab_data: dict[str, Any]
    tests: tuple[str, ...] | None


@dataclass(frozen=True)
class SessionResult:
    key: str
    outcomes: dict[str, Any]
    seconds: float
    error: str | None


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", key)


def _coverage(args: argparse.Namespace) -> int:
    import json

    import yaml

    from harness.errors import DmctInputError
    from harness.lab.inventory import load_lab
    from harness.model.packs import discover, plan_for_dmc, standard_pack_roots, with_bases
    from harness.paths import new_run_id, results_dir
    from harness.reports.console import make_console
    from harness.rules.defects import (
        CLEAN,
        KillerPlan,
        Matrix,
        applicable_defects,
        choose_killers,
        coverage,
        defect_detection,
        index_by_defect,
        split_defect,
        test_key,
        with_defect,
    )
    from harness.yamlio import load_model
    from labs.virtual.devices.catalogue import CatalogueError, load_catalogue

    lab = load_lab(args.lab)
    if not lab.virtual:
        raise DmctInputError(
            str(args.lab), "seeded defects need a virtual lab (virtual: true)", field="virtual"
        )
    entry = lab.select_entries([args.entry] if args.entry else None)[0]
    roles = lab.dmc(entry.dmc).roles
    release = entry.capability_release
    given = [p.resolve() for p in args.pack] if args.pack else standard_pack_roots()
    found = discover(given, release)
    missing = sorted(str(p) for p in given if p not in found)
    if missing:
        raise DmctInputError(missing[0], "no pack manifest here", field="--pack")
    # a non-standard pack (20.17) runs with the standard pack it changes, minus what it takes out
    pack_dirs = [p.resolve() for p in with_bases(given)]
    manifests = {root: m for root, m in found.items() if root in pack_dirs}
    dmc_plan = plan_for_dmc(found, entry.dmc, entry.id)
    roots = {m.id: root for root, m in manifests.items()}
    planned = [test_key(m.id, t) for m in manifests.values() for t in dmc_plan.tests[m.id]]
    not_applicable = [
        test_key(m.id, t)
        for m in manifests.values()
        for t in dmc_plan.tests[m.id]
        if t not in m.applicable(roles)
    ]
    lab_data: dict[str, Any] = yaml.safe_load(args.lab.read_text(encoding="utf-8"))
    catalogue = load_catalogue()
    dmc = lab.dmc(entry.dmc)
    devices: dict[str, tuple[str, str]] = {
        r: (m.model, m.firmware_version) for r in roles if (m := dmc.model_for(r)) is not None
    }
    try:
        defect_roles, impossible = catalogue.defects_on(devices)
    except CatalogueError as exc:
        raise DmctInputError(str(args.lab), f"DMC {dmc.id}: {exc}", field="dmcs") from None
    known = applicable_defects(defect_roles, roles)
    if lab.route is not None and lab.route.url.startswith("virtual://"):  # the simulated S1SP/DCO's own
        from labs.virtual.s1sp.route_defects import ROUTE_DEFECTS

        known += [f"route:{name}" for name in sorted(ROUTE_DEFECTS)]

    plan: KillerPlan | None = load_model(KillerPlan, args.killers) if args.killers else None
    chosen: list[str] = list(plan.defects) if plan else known
    if args.defect:
        chosen = args.defect
    for key in chosen:
        try:
            split_defect(key)
        except ValueError as exc:
            raise DmctInputError(str(args.killers or "--defect"), str(exc), field="defect") from None
        if key not in known:
            source = str(args.killers) if plan and key in plan.defects else "--defect"
            why = f" ({impossible[key]})" if key in impossible else ""
            raise DmctInputError(
                source, f"{key}: not a catalogue defect the DMC {entry.dmc} can carry{why}", field="defect"
            )
    if plan is not None:
        unknown = sorted(set(plan.tests()) - set(planned))
        if unknown:
            raise DmctInputError(
                str(args.killers), f"{unknown[0]}: not a planned test of the packs", field="defects"
            )

    # Tests run in the packs' own order, whatever order the plan or --defect lists them in: the
    # standard packs order their tests per rig (a test may leave state the next one expects, e.g. a
    # GSME valve armed for its customer), so a subset in another order can fail a sound DMC.
    position = {test: i for i, test in enumerate(planned)}

    def in_pack_order(tests: list[str]) -> tuple[str, ...]:
        return tuple(sorted(dict.fromkeys(tests), key=lambda t: position.get(t, len(position))))

    sessions: list[Session] = []
    if not args.no_clean:
        # A few defects picked from a killer plan: only their tests need to pass clean (the rest of the
        # plan is not checked here, so a clean run of it would be work without a question).
        clean_tests: tuple[str, ...] | None = None
        if plan is not None:
            picked = [t for key in chosen for t in plan.defects[key]] if args.defect else plan.tests()
            clean_tests = in_pack_order(list(picked))
        sessions.append(Session(CLEAN, lab_data, clean_tests))
    for key in chosen:
        tests = in_pack_order(list(plan.defects[key])) if plan else None
        try:
            sessions.append(Session(key, with_defect(lab_data, key), tests))
        except ValueError as exc:
            raise DmctInputError(str(args.lab), str(exc), field="rigs") from None

    out: Path = args.out or results_dir(None) / f"defects-{new_run_id()}"
    out.mkdir(parents=True, exist_ok=True)
    console = make_console(stderr=args.json)
    console.print(
        f"dmct defects: {len(sessions)} sessions ({'killer plan' if plan else 'full matrix'}), "
        f"{len(planned)} planned tests, entry {entry.id}, -j {args.jobs}; output {out}"
    )
    started = time.monotonic()

    def run(session: Session) -> SessionResult:
        result = _run_session(session, out, roots, entry.id, str(args.workers))
        state = f"error: {result.error}" if result.error else f"{len(result.outcomes)} results"
        console.print(f"  {session.key}: {state} in {result.seconds:.1f} s")
        return result

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(run, sessions))

    matrix = Matrix(planned=planned, sessions={r.key: r.outcomes for r in results})
    cov = coverage(matrix, not_applicable=not_applicable)
    found_by = defect_detection(matrix, known, not_applicable=not_applicable)
    (out / "matrix.json").write_text(json.dumps(matrix.to_json(), indent=1) + "\n")
    report = cov.to_json() | {
        "lab": str(args.lab),
        "entry": entry.id,
        "mode": "killers" if plan else "matrix",
        "seconds": round(time.monotonic() - started, 1),
        "session_errors": {r.key: r.error for r in results if r.error},
        "defect_detection": found_by.to_json(),
        # catalogue defects of the DMC's roles its devices cannot have (a capability they lack)
        "defects_impossible": dict(sorted(impossible.items())),
    }
    (out / "coverage.json").write_text(json.dumps(report, indent=1) + "\n")
    if args.write_killers:
        chosen_plan = KillerPlan(
            lab=str(args.lab),
            entry=entry.id,
            defects=index_by_defect(choose_killers(cov.detected), found_by.detected),
            undetected=list(cov.undetected),
            undetected_defects=[*found_by.undetected, *found_by.untried],
        )
        args.write_killers.write_text(
            "# Written by `dmct defects coverage --write-killers` from a full matrix: for each seeded\n"
            "# defect, the pack tests it must fail (re-checked by tests/packs/test_defect_coverage.py).\n"
            + yaml.safe_dump(chosen_plan.model_dump(), sort_keys=False, width=200)
        )
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        _print(console, cov, report)
    min_detection = args.min_detection if args.min_detection is not None else (0.0 if args.defect else 1.0)
    ok = (
        cov.ratio >= args.min_coverage
        and found_by.rate >= min_detection
        and not cov.not_clean
        and not report["session_errors"]
    )
    return 0 if ok else 1


def _run_session(
    session: Session, out: Path, roots: dict[str, Path], entry: str, workers: str
) -> SessionResult:
    """Write the session's lab file, serve it, run pytest on its tests and read back the outcomes."""
    import yaml

    from harness.cli.run import start_lab, stop_lab
    from harness.errors import DmctInputError
    from harness.model.interchange import latest_results, load_results
    from harness.rules.defects import split_test, test_key

    slug = _slug(session.key)
    for sub in ("labs", "logs", "runs", "leases"):
        (out / sub).mkdir(exist_ok=True)
    lab_file = out / "labs" / f"{slug}.yaml"
    lab_file.write_text(yaml.safe_dump(session.lab_data, sort_keys=False))
    endpoints = out / "labs" / f"{slug}.endpoints.json"
    if session.tests is None:
        targets = [str(r) for r in roots.values()]
    else:
        targets = []
        for key in session.tests:
            pack, test = split_test(key)
            targets.append(f"{roots[pack]}/{test}")
    started = time.monotonic()
    with (out / "logs" / f"{slug}.log").open("w", encoding="utf-8") as log:
        try:
            lab_proc, _ = start_lab(lab_file, endpoints, log=log)
        except DmctInputError as exc:
            return SessionResult(session.key, {}, time.monotonic() - started, str(exc))
        try:
            cmd = [sys.executable, "-m", "pytest", *targets, "--lab", str(lab_file), "--entry", entry,
                   "--run-id", slug, "--results-dir", str(out / "runs"), "--lab-endpoints", str(endpoints),
                   "-p", "no:cacheprovider", "-q"]  # fmt: skip
            if workers != "0":
                cmd += ["-n", workers]
            env = {**os.environ, "DMCT_LEASE_DIR": str(out / "leases" / slug)}
            try:
                status = subprocess.run(
                    cmd, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=SESSION_TIMEOUT_S, check=False
                ).returncode
            except subprocess.TimeoutExpired:
                return SessionResult(session.key, {}, time.monotonic() - started, "timed out")
        finally:
            stop_lab(lab_proc)
    journal = out / "runs" / slug / "results.jsonl"
    seconds = time.monotonic() - started
    if not journal.exists():
        return SessionResult(
            session.key, {}, seconds, f"pytest status {status}, no results (see logs/{slug}.log)"
        )
    latest = latest_results(load_results([journal]))
    return SessionResult(
        session.key, {test_key(p, t): r.outcome for (_, p, t), r in latest.items()}, seconds, None
    )


def _print(console: Any, cov: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    title = f"per-test coverage (tests some defect fails): {cov.ratio:.1%} ({len(cov.detected)}/{cov.judged})"
    table = Table(title=title)
    table.add_column("test")
    table.add_column("caught by")
    for test in cov.undetected:
        table.add_row(test, "[red]nothing[/red]")
    for test, outcome in cov.not_clean.items():
        table.add_row(test, f"[yellow]did not pass clean: {outcome}[/yellow]")
    if table.row_count:
        console.print(table)
    else:
        console.print(table.title)
    det = report["defect_detection"]
    console.print(
        f"defect detection rate: {det['rate']:.1%} ({det['detected']}/{det['applicable']} applicable "
        f"catalogue defects make at least one planned test fail)"
    )
    for key in det["undetected"]:
        console.print(f"  [red]{key}: no planned test failed[/red]")
    for key in det["untried"]:
        console.print(f"  [red]{key}: not tried (no session)[/red]")
    for key, error in report["session_errors"].items():
        console.print(f"[red]session {key}: {error}[/red]")
    console.print(f"{report['seconds']} s; matrix and coverage in the output directory")
