"""The nightly regression pipeline behind ``ci/nightly``: run, judge, report, sign, diff, trend, summarise.

A night runs every entry the lab file lists (``dmct run`` per entry; a virtual lab is started by it),
then for each entry judges the run twice — with the ``regression`` profile on what the night *planned*
(Table 13.1 2B: 100% executed, 100% pass excluding known defects) and with the ``dmct`` profile on the
whole plan (informational: where the entry stands against Table 20.1) — writes the DMCT Testing Report,
packs the signed evidence bundle, diffs the night against the previous one
(:mod:`harness.regression.diff`), draws
the trend of pass rate and extant issues (:mod:`harness.reports.trend`) and writes ``summary.md`` and
``summary.json``. See ``docs/nightly.md``.

**What the night planned.** Without pytest arguments the night plans every planned test of the entry
(``plan.json``). With arguments that select a subset (``-k``, ``-m``, node ids) it plans exactly the tests
pytest selects with them: the packs are collected once with those arguments (no lab needed) before any
run starts, and the intersection with ``plan.json`` is written as an interchange plan,
``plans/<entry>.regression.json``, so anyone can recompute the regression verdict with ``dmct verdict``.
The ``dmct`` verdict then reports the tests outside the subset as not executed — expected, and not a
regression.

**Exit status** (what a lab engineer's scheduler acts on):

- 0: no regression;
- 1: a regression — a test newly failing or newly blocked vs the previous night (a flip called flaky is
  not counted, see :mod:`harness.regression.diff`), or the regression profile not met on the night's plan
  (a planned
  test not executed, or a failure not linked to an open Testing Issue);
- 2: bad input (lab file, options, pytest arguments selecting nothing) — one line, nothing run;
- 3: the night is incomplete (an entry's run produced no results) and nothing else regressed;
- 130: interrupted.

Everything of a night lives in ``<out>/<UTC date-time>/``; ``<out>/latest`` points at the last completed
night (a symlink, or a file holding its name where symlinks are not available). Pure pieces (planning,
scheduling, the exit rule, the summary) are functions of their inputs; processes, files and clocks stay
in :func:`run_night`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError
from harness.regression.night_files import (
    DIFF_JSON,
    ISSUES_SNAPSHOT,
    NIGHT_RE,
    SUMMARY_JSON,
    SUMMARY_MD,
    _write_json,
    code_identity,
    entry_devices,
    past_nights,
    prune,
    read_latest,
    write_latest,
)
from harness.regression.night_rules import (
    EXIT_BAD_INPUT,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REGRESSION,
    EntryNight,
    _verdict_summary,
    exit_reasons,
    night_label,
    render_summary,
    restrict_plan,
    schedule,
    totals,
)
from harness.regression.selection import collect_selection

# ------------------------------------------------------------------------------------------ options


@dataclass(frozen=True, slots=True)
class Options:
    lab: Path
    out: Path
    entries: tuple[str, ...] = ()
    rigs: int = 1
    workers: str = "2"
    jobs: int | None = None
    packs: tuple[Path, ...] = ()
    pytest_args: tuple[str, ...] = ()
    previous: Path | None = None
    issues: Path | None = None
    store: str | None = None
    evidence_key: Path | None = None
    trend: int = 14
    keep: int = 60
    artifacts: Path | None = None
    night_id: str | None = None
    lease_wait: float | None = None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ci/nightly",
        description=(
            "Nightly DMCT regression: run every entry of a lab file, judge it (regression and dmct "
            "profiles), write reports and signed evidence, diff against the previous night, summarise. "
            "Exit 0 no regression, 1 regression, 2 bad input, 3 incomplete night."
        ),
        epilog="Arguments after -- go to pytest (e.g. -- -k supply); the night then plans what they select.",
    )
    parser.add_argument("--lab", type=Path, default=Path("labs/virtual.yaml"), help="lab inventory file")
    parser.add_argument(
        "--out",
        type=Path,
        help="where nights are kept (default: $DMCT_RESULTS/nightly or results/nightly)",
    )
    parser.add_argument(
        "--entry", action="append", default=[], help="only this entry (repeatable; default: every entry)"
    )
    parser.add_argument(
        "--rigs", type=int, default=1, metavar="N", help="virtual labs: N copies of every rig"
    )
    parser.add_argument("-n", "--workers", default="2", help="pytest-xdist workers per entry (0 = no xdist)")
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="entries run at once (default: real labs as many as share no rig; virtual labs by CPU count)",
    )
    parser.add_argument("--pack", action="append", type=Path, default=[], help="pack directory (repeatable)")
    parser.add_argument(
        "--previous", type=Path, help="compare with this night or run (default: <out>/latest)"
    )
    parser.add_argument("--issues", type=Path, help="Testing Issue log export (default: the store)")
    parser.add_argument(
        "--store", metavar="URL", help="Testing Issue log store (default: $DMCT_STORE, project)"
    )
    parser.add_argument(
        "--evidence-key",
        type=Path,
        metavar="FILE",
        help="Ed25519 signing key (default: $DMCT_EVIDENCE_KEY, else a key the nightly keeps in <out>/.keys)",
    )
    parser.add_argument("--trend", type=int, default=14, metavar="N", help="nights in the trend (default 14)")
    parser.add_argument("--keep", type=int, default=60, metavar="N", help="nights kept in --out (default 60)")
    parser.add_argument(
        "--artifacts",
        type=Path,
        metavar="DIR",
        help="also copy tonight's directory here (CI artifact upload)",
    )
    parser.add_argument("--night-id", help=argparse.SUPPRESS)
    parser.add_argument(
        "--lease-wait", type=float, help="seconds to wait for a leased rig (pytest --lease-wait)"
    )
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: extra pytest arguments")
    return parser


def parse_options(argv: Sequence[str] | None) -> Options:
    args = build_parser().parse_args(argv)
    from harness.paths import results_dir

    extra = list(args.pytest_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    if args.rigs < 1:
        raise DmctInputError("--rigs", "must be at least 1")
    if args.jobs is not None and args.jobs < 1:
        raise DmctInputError("--jobs", "must be at least 1")
    if args.trend < 1 or args.keep < 1:
        raise DmctInputError("--trend/--keep", "must be at least 1")
    if args.night_id is not None and not NIGHT_RE.match(args.night_id):
        raise DmctInputError("--night-id", f"{args.night_id!r}: expected YYYYMMDDTHHMMSSZ")
    return Options(
        lab=args.lab,
        out=args.out or results_dir() / "nightly",
        entries=tuple(args.entry),
        rigs=args.rigs,
        workers=str(args.workers),
        jobs=args.jobs,
        packs=tuple(args.pack),
        pytest_args=tuple(extra),
        previous=args.previous,
        issues=args.issues,
        store=args.store,
        evidence_key=args.evidence_key,
        trend=args.trend,
        keep=args.keep,
        artifacts=args.artifacts,
        night_id=args.night_id,
        lease_wait=args.lease_wait,
    )


# --------------------------------------------------------------------------------------- the night


class _Night:
    """The state of one night while it runs (processes and paths); :func:`run_night` drives it."""

    def __init__(self, opts: Options, lab: Any, entries: list[Any], night_id: str) -> None:
        self.opts, self.lab, self.entries, self.night_id = opts, lab, entries, night_id
        self.dir = opts.out / night_id
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Any] = {}

    def say(self, text: str) -> None:
        print(f"ci/nightly: {text}", flush=True)

    def run_command(self, entry: Any, run_id: str) -> list[str]:
        opts = self.opts
        cmd = [sys.executable, "-m", "harness.cli", "run", "--lab", str(opts.lab), "--entry", entry.id]
        cmd += ["-n", opts.workers, "--results-dir", str(self.dir / "runs"), "--run-id", run_id]
        if self.lab.virtual:
            cmd += ["--rigs", str(opts.rigs)]
        for pack in opts.packs:
            cmd += ["--pack", str(pack)]
        extra = list(opts.pytest_args)
        if opts.lease_wait is not None:
            extra += ["--lease-wait", str(opts.lease_wait)]
        if extra:
            cmd += ["--", *extra]
        return cmd

    def start(self, entry: Any, run_id: str) -> None:
        env = dict(os.environ)
        if self.lab.virtual:
            # Each `dmct run` serves its own copy of a virtual lab: its rigs are private to it, so its
            # leases are too (entries then run in parallel without waiting for each other's rigs).
            env["DMCT_LEASE_DIR"] = str(self.dir / ".leases" / entry.id)
        log = (self.dir / "logs" / f"{entry.id}.log").open("wb")
        self.logs[entry.id] = log
        self.procs[entry.id] = subprocess.Popen(
            self.run_command(entry, run_id), stdout=log, stderr=subprocess.STDOUT, env=env
        )
        self.say(f"{entry.id}: dmct run {run_id} started (log logs/{entry.id}.log)")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    proc.send_signal(signal.SIGTERM)  # dmct run stops pytest and its lab on SIGTERM
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs.values():
            log.close()


def _issue_log(opts: Options) -> tuple[list[Any], str]:
    """The Testing Issue log as of tonight (never creating a store) and where it came from."""
    from harness.model.interchange import load_issues

    if opts.issues is not None:
        return load_issues(opts.issues), str(opts.issues)
    from harness.paths import results_dir
    from harness.store.issue_log import open_store, store_url

    base = results_dir()
    url = store_url(opts.store, base)
    if (
        not opts.store
        and not os.environ.get("DMCT_STORE", "").strip()
        and not (base / "dmct.sqlite").is_file()
    ):
        return [], "none found (no store; every failure counts, none is a known defect)"
    with open_store(opts.store, results_dir=base, create=False) as log:
        issues = log.export_issues()
    from sqlalchemy.engine import make_url

    return issues, make_url(url).render_as_string(hide_password=True)


def _evidence_key(opts: Options) -> tuple[Path | None, str]:
    """The signing key: --evidence-key, else $DMCT_EVIDENCE_KEY, else the nightly's own key (created once
    under ``<out>/.keys``, outside every night directory so it is never uploaded)."""
    if opts.evidence_key is not None:
        return opts.evidence_key, str(opts.evidence_key)
    if os.environ.get("DMCT_EVIDENCE_KEY", "").strip():
        return None, "$DMCT_EVIDENCE_KEY"
    from harness.reports.evidence import generate_key

    key = opts.out / ".keys" / "evidence-signing.pem"
    if not key.is_file():
        generate_key(key)
    return key, f"{key} (the nightly's own key: integrity only; set DMCT_EVIDENCE_KEY for the lab's key)"


def _new_night_id(out: Path) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    night, n = stamp, 1
    while (out / night).exists():
        n += 1
        night = f"{stamp}-{n}"
    return night


def _default_jobs(lab: Any, workers: str, entries: int) -> int:
    if not lab.virtual:
        return max(1, entries)
    per_run = (int(workers) if workers.isdigit() else 2) + 1  # workers + the lab process
    try:
        cpus = len(os.sched_getaffinity(0))  # the CPUs this process may use (containers, taskset)
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // per_run)


def _judge(night: _Night, e: EntryNight, issues: list[Any], selection: dict[str, set[str]] | None) -> None:
    """Both verdicts of one entry's run, its reports and its evidence bundle."""
    from harness.model.interchange import load_plan
    from harness.rules.profiles import load_profile
    from harness.rules.verdict import compute_verdict
    from harness.store.journal import stream_results

    d = night.dir
    plan = load_plan(e.run_dir / "plan.json")
    index = stream_results(plan, [e.run_dir / "results.jsonl"])
    reg_plan = restrict_plan(plan, selection)
    plan_file = d / "plans" / f"{e.entry}.regression.json"
    _write_json(plan_file, reg_plan.model_dump(mode="json", exclude_none=True))
    for name, p, profile in (("regression", reg_plan, "regression"), ("dmct", plan, plan.profile)):
        verdict = compute_verdict(p, index, issues, load_profile(profile)).to_json()
        path = d / "verdicts" / f"{e.entry}.{name}.json"
        _write_json(path, verdict)
        e.artifacts[f"{name} verdict"] = str(path.relative_to(d))
        setattr(e, name, _verdict_summary(verdict, e.entry))
    e.artifacts["regression plan"] = str(plan_file.relative_to(d))

    from harness.outputs import atomic_write
    from harness.reports.data import gather
    from harness.reports.render import render_html, render_markdown
    from harness.reports.testing import build_testing_report

    today = datetime.now(UTC).date()
    data = gather([e.run_dir], keep={e.entry}, issues_file=e.run_dir / ISSUES_SNAPSHOT)
    doc = build_testing_report(data, e.entry, today)
    for fmt, render in (("md", render_markdown), ("html", render_html)):
        path = d / "reports" / f"{e.entry}.testing.{fmt}"
        atomic_write(path, render(doc))
        e.artifacts[f"testing report ({fmt})"] = str(path.relative_to(d))


def _evidence(night: _Night, e: EntryNight, key: Path | None) -> None:
    from harness.outputs import atomic_write
    from harness.reports.evidence import load_private_key, pack_run

    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    bundle = pack_run(
        e.run_dir,
        load_private_key(key),
        created=created,
        issues_file=e.run_dir / ISSUES_SNAPSHOT,
        report_date=datetime.now(UTC).date(),
    )
    path = night.dir / "evidence" / f"{e.entry}.evidence.tar.gz"
    atomic_write(path, bundle)
    e.artifacts["evidence bundle"] = str(path.relative_to(night.dir))


def _trend(night: _Night, issues: list[Any], tonight: Mapping[str, Any]) -> list[Any]:
    """Points of the last ``--trend`` nights (tonight last): each night's totals from its summary, its
    extant issues rebuilt from tonight's log at the night's start (the log keeps every change)."""
    from harness.reports.trend import extant_at, parse_time, point

    earlier = past_nights(night.opts.out, exclude=night.night_id)
    earlier = earlier[len(earlier) - (night.opts.trend - 1) :] if night.opts.trend > 1 else []
    summaries: list[Mapping[str, Any]] = []
    for past in earlier:
        with contextlib.suppress(OSError, json.JSONDecodeError):
            summaries.append(json.loads((past / SUMMARY_JSON).read_text(encoding="utf-8")))
    summaries.append(tonight)
    ids = [str(s.get("night", "")) for s in summaries]
    precise = len({night_label(i) for i in ids}) < len(ids)  # two nights in one minute: show seconds
    points = []
    for night_id, s in zip(ids, summaries, strict=True):
        when = parse_time(s.get("started")) or datetime.now(UTC)
        t = s.get("totals") or {}
        points.append(
            point(
                night_label(night_id, precise),
                int(t.get("planned", 0)),
                int(t.get("executed", 0)),
                int(t.get("passed", 0)),
                extant_at(issues, when),
            )
        )
    return points


def run_night(opts: Options) -> int:
    """One night, end to end; returns the exit status."""
    from harness.lab.inventory import load_lab
    from harness.model.packs import standard_pack_roots, with_bases
    from harness.regression.diff import PROVENANCE_FILE, code_label, diff_paths
    from harness.regression.diff import render_markdown as diff_markdown
    from harness.store.issue_log import dump_issues

    lab = load_lab(opts.lab)
    entries = [lab.entry(e) for e in opts.entries] if opts.entries else list(lab.entries)
    packs = list(opts.packs) or standard_pack_roots()
    # `dmct run` runs a non-standard pack with the standard pack it changes (20.17): select from both
    selection = collect_selection(with_bases(packs), opts.pytest_args) if opts.pytest_args else None
    previous = opts.previous if opts.previous is not None else read_latest(opts.out)
    if previous is not None and not previous.exists():
        raise DmctInputError(str(previous), "no such night or run", field="--previous")
    issues, issues_source = _issue_log(opts)
    key, key_source = _evidence_key(opts)
    opts.out.mkdir(parents=True, exist_ok=True)
    night_id = opts.night_id or _new_night_id(opts.out)
    night = _Night(opts, lab, entries, night_id)
    if night.dir.exists():
        raise DmctInputError(str(night.dir), "this night already exists", field="--night-id")
    for sub in ("runs", "logs"):
        (night.dir / sub).mkdir(parents=True)
    started = datetime.now(UTC)
    code = code_identity()
    snapshot = dump_issues(issues, "json")
    (night.dir / ISSUES_SNAPSHOT).write_text(snapshot, encoding="utf-8")
    lab_digest = hashlib.sha256(opts.lab.read_bytes()).hexdigest()
    night.say(
        f"night {night_id}: lab {lab.lab}, {len(entries)} entr(ies), previous "
        f"{previous or 'none'}, code {code_label(code)}"
    )

    results: dict[str, EntryNight] = {}
    for entry in entries:
        run_id = re.sub(r"[^\w.-]+", "_", f"{night_id}-{entry.id}")
        run_dir = night.dir / "runs" / run_id
        run_dir.mkdir()
        # The run carries the log it is judged with and what it ran on (read by dmct verdict/report/diff).
        (run_dir / ISSUES_SNAPSHOT).write_text(snapshot, encoding="utf-8")
        _write_json(
            run_dir / PROVENANCE_FILE,
            {
                "recorded_by": "ci/nightly",
                "night": night_id,
                "code": code,
                "lab": {"file": str(opts.lab), "sha256": lab_digest, "virtual": lab.virtual},
                "pytest_args": list(opts.pytest_args),
                "entries": {entry.id: {"devices": entry_devices(lab, entry)}},
            },
        )
        results[entry.id] = EntryNight(entry.id, run_id, run_dir)

    rigs = {e.id: frozenset(r.id for r in lab.rigs_for_entry(e)) for e in entries}
    if lab.virtual:
        rigs = {e.id: frozenset() for e in entries}  # private labs: nothing shared
    jobs = opts.jobs or _default_jobs(lab, opts.workers, len(entries))
    pending = [e.id for e in entries]
    by_id = {e.id: e for e in entries}
    try:
        while pending or any(p.poll() is None for p in night.procs.values()):
            running = [k for k, p in night.procs.items() if p.poll() is None]
            for entry_id in schedule(pending, running, rigs, jobs):
                pending.remove(entry_id)
                night.start(by_id[entry_id], results[entry_id].run_id)
            time.sleep(0.2)
    except KeyboardInterrupt:
        night.say("interrupted; stopping the runs")
        night.stop_all()
        return EXIT_INTERRUPTED
    for log in night.logs.values():
        log.close()

    for entry_id, e in results.items():
        e.status = night.procs[entry_id].returncode
        night.say(f"{entry_id}: dmct run exit {e.status}")
        if not (e.run_dir / "results.jsonl").is_file() or not (e.run_dir / "plan.json").is_file():
            e.problems.append(f"dmct run exited {e.status} without results (see logs/{entry_id}.log)")
            continue
        if e.status not in (0, 1):
            e.problems.append(f"dmct run exited {e.status} (see logs/{entry_id}.log)")
        try:
            _judge(night, e, issues, selection)
            _evidence(night, e, key)
        except DmctInputError as exc:
            e.problems.append(str(exc))
            continue
        e.complete = not e.problems

    diff = None
    diff_md = None
    if previous is not None and any(e.complete for e in results.values()):
        try:
            diff = diff_paths(previous, night.dir)
        except DmctInputError as exc:
            night.say(f"cannot diff against {previous}: {exc}")
        else:
            _write_json(night.dir / DIFF_JSON, diff.to_json())
            diff_md = diff_markdown(diff)

    status, reasons = exit_reasons(list(results.values()), diff)
    finished = datetime.now(UTC)
    summary: dict[str, Any] = {
        "night": night_id,
        "started": started.isoformat().replace("+00:00", "Z"),
        "finished": finished.isoformat().replace("+00:00", "Z"),
        "lab": lab.lab,
        "lab_file": str(opts.lab),
        "virtual": lab.virtual,
        "code": code,
        "code_label": code_label(code),
        "pytest_args": list(opts.pytest_args),
        "packs": [str(p) for p in packs],
        "selection": {k: sorted(v) for k, v in sorted(selection.items())} if selection is not None else None,
        "previous": str(previous) if previous is not None else None,
        "issues": {"source": issues_source, "count": len(issues)},
        "evidence_key": key_source,
        "entries": {
            k: {
                "run": str(e.run_dir.relative_to(night.dir)),
                "run_status": e.status,
                "complete": e.complete,
                "log": f"logs/{k}.log",
                "problems": e.problems,
                "regression": e.regression,
                "dmct": e.dmct,
                "artifacts": e.artifacts,
                "diff": diff.entries[k].counts() if diff is not None and k in diff.entries else None,
            }
            for k, e in results.items()
        },
        "totals": totals(list(results.values())),
        "diff": {
            "against": str(previous),
            "file": DIFF_JSON,
            "regression": diff.regression,
            "totals": diff.totals(),
        }
        if diff is not None
        else None,
        "regression": status == EXIT_REGRESSION,
        "exit_status": status,
        "reasons": reasons,
    }
    points = _trend(night, issues, summary)
    summary["trend"] = [p.to_json() for p in points]
    from harness.outputs import atomic_write
    from harness.reports.trend import render_png, render_svg, rows

    title = f"last {len(points)} night(s) to {night_id}"
    atomic_write(night.dir / "trend.png", render_png(points, title))
    atomic_write(night.dir / "trend.svg", render_svg(points, title))
    _write_json(night.dir / SUMMARY_JSON, summary)
    atomic_write(night.dir / SUMMARY_MD, render_summary(summary, diff_md, rows(points)))
    write_latest(opts.out, night_id)
    prune(opts.out, opts.keep, [night.dir, *([previous] if previous is not None else [])])
    if opts.artifacts is not None:
        if opts.artifacts.exists():
            shutil.rmtree(opts.artifacts)
        shutil.copytree(
            night.dir, opts.artifacts, ignore=shutil.ignore_patterns(".leases", ".lab", ".rig-mutex")
        )
    label = {EXIT_OK: "OK", EXIT_REGRESSION: "REGRESSION", EXIT_INCOMPLETE: "INCOMPLETE"}[status]
    night.say(f"night {night_id}: {label} (exit {status}); summary {night.dir / SUMMARY_MD}")
    for reason in reasons:
        night.say(f"  {reason}")
    return status


def combined_argv(argv: Sequence[str], env: str) -> list[str]:
    """The command line with ``$DMCT_NIGHTLY_ARGS`` (shell-quoted, split with :mod:`shlex`, never
    evaluated) in front: options with options, pytest arguments (after ``--``) with pytest arguments.

    CI files set that variable (e.g. from a schedule's variables) and call ``ci/nightly`` unchanged.
    """
    import shlex

    def split(args: Sequence[str]) -> tuple[list[str], list[str]]:
        args = list(args)
        return (args[: args.index("--")], args[args.index("--") + 1 :]) if "--" in args else (args, [])

    try:
        extra = shlex.split(env)
    except ValueError as exc:
        raise DmctInputError("$DMCT_NIGHTLY_ARGS", f"cannot split: {exc}") from None
    env_opts, env_pytest = split(extra)
    opts, pytest_args = split(argv)
    pytest_all = env_pytest + pytest_args
    return env_opts + opts + (["--", *pytest_all] if pytest_all else [])


def main(argv: Sequence[str] | None = None) -> int:
    """``ci/nightly``: bad input is one line on stderr and exit 2, never a traceback."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        args = combined_argv(sys.argv[1:] if argv is None else argv, os.environ.get("DMCT_NIGHTLY_ARGS", ""))
        return run_night(parse_options(args))
    except DmctInputError as exc:
        print(f"ci/nightly: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("ci/nightly: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
