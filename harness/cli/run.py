"""``dmct run``: the main job — lab up, packs in parallel, verdict, report, lab down.

This is what ``make demo`` and a lab engineer's daily run use. It owns every process it starts: the
virtual lab is told to exit when our stdin pipe closes (so even a SIGKILLed ``dmct run`` leaves no lab
behind), SIGTERM is treated like Ctrl-C, and the ``finally`` path always stops pytest and the lab.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

from harness.errors import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, DmctInputError

ORDER = 10
READY_TIMEOUT_S = 30.0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="run the packs against an entry of a lab and print the verdict",
        description=(
            "Run the test packs against one planned EPCL entry of a lab: start the virtual lab if the lab "
            "file is virtual, run pytest with the dmct plugin on pytest-xdist workers (one rig each), "
            "write results/<run-id>/ (plan.json, results.jsonl, run.json, transcripts/), then judge the "
            "run (verdict.json, report.md) and print the verdict. Exit status (docs/exit-codes.md): 0 the "
            "verdict is successful for the entry, 1 it is not (unsuccessful, in progress, awaiting the TAG), "
            "2 bad input, 3 no verdict (pytest ended without results), 130 interrupted."
        ),
        epilog=(
            "Options of the dmct pytest plugin and of pytest that a run commonly needs are listed above and "
            "forwarded to pytest; anything else goes after '--', e.g. dmct run -- --tb=long -p no:randomly."
        ),
    )
    parser.add_argument("--lab", type=Path, default=Path("labs/virtual.yaml"), help="lab inventory file")
    parser.add_argument("--entry", help="planned EPCL entry (default: the lab's default entry)")
    parser.add_argument("-n", "--workers", default="2", help="pytest-xdist workers (0 = no xdist)")
    parser.add_argument(
        "--rigs",
        default="1",
        metavar="N",
        help="virtual labs only: serve N copies of every rig, so N workers run in parallel",
    )
    parser.add_argument("--results-dir", type=Path, help="where runs are written (default results/)")
    parser.add_argument(
        "--run-id", help="run id (default: UTC time + random suffix); never an existing run's"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the existing run --run-id: its plan, facts and journal are checked, then kept",
    )
    parser.add_argument(
        "--pack", action="append", type=Path, help="pack directory (repeatable; default: the standard packs)"
    )
    fwd = parser.add_argument_group("forwarded to pytest")
    fwd.add_argument(
        "--lease-wait",
        type=float,
        metavar="SECONDS",
        help="how long to wait for a rig leased by another session (plugin default 30; 0 = refuse at once)",
    )
    fwd.add_argument(
        "--share-rigs",
        action="store_true",
        help="let more workers than rigs take turns on them (packs without a per-rig test order only; "
        "otherwise -n is capped at the rigs)",
    )
    fwd.add_argument(
        "--lab-endpoints",
        type=Path,
        metavar="FILE",
        help="endpoints file of a virtual lab already running (default: dmct run starts the lab itself)",
    )
    fwd.add_argument("-k", dest="keyword", metavar="EXPR", help="only tests matching EXPR (pytest -k)")
    fwd.add_argument(
        "-m", dest="markexpr", metavar="EXPR", help="only tests whose markers match EXPR (pytest -m)"
    )
    fwd.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure (pytest -x)")
    fwd.add_argument("--maxfail", type=int, metavar="N", help="stop after N failures (pytest --maxfail)")
    fwd.add_argument(
        "--alluredir", type=Path, metavar="DIR", help="also write Allure results to DIR (allure-pytest)"
    )
    fwd.add_argument("--junitxml", type=Path, metavar="FILE", help="also write pytest's JUnit XML to FILE")
    fwd.add_argument(
        "--ttm-url",
        metavar="TEMPLATE",
        help="with --alluredir: where requirement links point, {} = the id (default ttm.html#{})",
    )
    parser.add_argument(
        "--format",
        choices=("table", "text", "json"),
        help="how the verdict is printed: table (full), text (compact, never cut), json. "
        "Default: table on a terminal, text otherwise",
    )
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: extra pytest arguments")
    parser.set_defaults(func=_run)


def forwarded(args: argparse.Namespace) -> list[str]:
    """The pytest arguments for the options ``dmct run`` forwards (those given only)."""
    out: list[str] = []
    if args.lease_wait is not None:
        out += ["--lease-wait", str(args.lease_wait)]
    if args.share_rigs:
        out.append("--share-rigs")
    if args.keyword:
        out += ["-k", args.keyword]
    if args.markexpr:
        out += ["-m", args.markexpr]
    if args.exitfirst:
        out.append("-x")
    if args.maxfail is not None:
        out += ["--maxfail", str(args.maxfail)]
    if args.alluredir is not None:
        out += ["--alluredir", str(args.alluredir)]
    if args.junitxml is not None:
        out += [f"--junitxml={args.junitxml}"]
    if args.ttm_url:
        out += ["--ttm-url", args.ttm_url]
    return out


class _Terminated(KeyboardInterrupt):
    """SIGTERM to ``dmct run`` alone: unlike Ctrl-C, pytest was not signalled with it."""


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def _die_with_parent() -> None:
    """In the child (Linux): receive SIGTERM if ``dmct run`` dies, even by SIGKILL."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _count(text: str, option: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise DmctInputError(option, f"must be a whole number, got {text!r}") from None
    if not minimum <= value <= 256:
        raise DmctInputError(option, f"must be {minimum}-256, got {value}")
    return value


def _run(args: argparse.Namespace) -> int:
    from harness.lab.inventory import load_lab
    from harness.model.packs import discover, plan_for_dmc, standard_pack_roots, with_bases
    from harness.paths import check_output_dir, check_run_dir, check_run_id, new_run_id, results_dir

    # Every argument is checked here, before any lab starts or anything is written (exit 2, one line).
    workers = _count(str(args.workers), "-n", 0)
    rigs = _count(str(args.rigs), "--rigs", 1)
    for pack in args.pack or ():
        if not pack.is_dir():
            raise DmctInputError("--pack", f"{pack}: no such pack directory")
    if args.resume and not args.run_id:
        raise DmctInputError("--resume", "say which run: --run-id ID")
    lab = load_lab(args.lab)
    entry = lab.select_entries([args.entry] if args.entry else None)[0]
    base = results_dir(args.results_dir)
    check_output_dir(base, "--results-dir")
    run_id = check_run_id(args.run_id) if args.run_id else new_run_id()
    run_dir = base / run_id
    check_run_dir(run_dir, resume=args.resume)
    # Each pack's manifest for the entry's Capability Release (20.16); a non-standard pack (20.17) runs
    # with the standard pack it changes. Bad manifests, or a non-standard pack for another DMC, are
    # refused here in one line, before any lab starts.
    pack_paths = with_bases(args.pack) if args.pack else standard_pack_roots()
    plan_for_dmc(discover(pack_paths, entry.capability_release), entry.dmc, entry.id)
    added = pack_paths[len(args.pack or ()) :] if args.pack else []
    packs = [str(p) for p in pack_paths]
    extra = [*forwarded(args), *(a for a in args.pytest_args if a != "--")]

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    lab_proc: subprocess.Popen[bytes] | None = None
    tests: subprocess.Popen[bytes] | None = None
    # Ctrl-C reaches pytest itself (same process group): give it time to end on its own first; a
    # second SIGINT while it prints its summary made it print a traceback.
    signalled = False
    watch: _LabWatch | None = None
    try:
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            *packs,
            "--lab",
            str(args.lab),
            "--entry",
            entry.id,
            "--run-id",
            run_id,
            "--results-dir",
            str(base),
            "-p",
            "no:cacheprovider",
            # The packs use no Hypothesis; its pytest plugin imports all of it in every process's
            # terminal summary (0.8 CPU-s a worker without cached bytecode; issue 21).
            "-p",
            "no:hypothesispytest",
            "-q",
            *(["--resume"] if args.resume else []),
            *extra,
        ]
        if workers:
            cmd += ["-n", str(workers)]
        if args.lab_endpoints is not None:  # a lab the user started (or a real lab's bridge)
            cmd += ["--lab-endpoints", str(args.lab_endpoints)]
        elif lab.virtual:
            endpoints = base / ".lab" / f"{run_id}.endpoints.json"
            lab_proc, expanded = start_lab(args.lab, endpoints, rigs)
            cmd += ["--lab-endpoints", str(endpoints)]
            if expanded is not None:  # the lab with its rig copies is what pytest must lease from
                cmd[cmd.index("--lab") + 1] = str(expanded)
        print(
            f"dmct run: {run_id}: lab {lab.lab}, entry {entry.id} (DMC {entry.dmc}, "
            f"{entry.capability_release})",
            flush=True,
        )
        for root in added:
            print(f"dmct run: also running {root}: the standard pack a non-standard pack changes", flush=True)
        watch = _LabWatch(lab_proc) if lab_proc is not None else None
        tests = subprocess.Popen(
            cmd, env=session_env(), preexec_fn=_die_with_parent if sys.platform == "linux" else None
        )
        pytest_status = tests.wait()
        tests = None
        if watch is not None and watch.died is not None:
            print(f"dmct run: {watch.describe(run_dir / 'results.jsonl')}", file=sys.stderr, flush=True)
    except KeyboardInterrupt as exc:
        signalled = not isinstance(exc, _Terminated)
        if tests is not None and signalled:
            _stop(tests, signalled=True)
            tests = None
        print(f"dmct run: interrupted: {_journal_state(run_dir, run_id)}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    finally:
        if tests is not None:
            _stop(tests, signalled=signalled)
        if lab_proc is not None:
            _keep_fault_log(base / ".lab" / f"{run_id}.endpoints.faults.jsonl", run_dir)
            if watch is not None:
                watch.stopping = True
            stop_lab(lab_proc)
        signal.signal(signal.SIGTERM, previous)

    if pytest_status not in (0, 1) or not (run_dir / "results.jsonl").exists():
        print(f"dmct run: pytest ended with status {pytest_status}; no verdict", file=sys.stderr)
        # pytest's usage errors (4), nothing collected (5) and our own refusals (2) are bad input;
        # anything else left the run without a judgement.
        return EXIT_INPUT if pytest_status in (2, 4, 5) else EXIT_INCOMPLETE
    return _judge(run_dir, args.format)


def start_lab(
    lab_file: Path, endpoints: Path, rigs: int = 1, log: IO[str] | None = None
) -> tuple[subprocess.Popen[bytes], Path | None]:
    """Start ``dmct lab up`` and wait for its readiness line; with ``rigs > 1`` also return the
    expanded lab file it names. The lab's output goes to our stdout, or quietly to ``log``."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "lab",
            "up",
            str(lab_file),
            "--endpoints",
            str(endpoints),
            "--exit-with-stdin",
            "--rigs",
            str(rigs),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(b"dmct lab: ready"):
            text = line.decode().rstrip()
            print(text, file=log or sys.stdout, flush=True)
            _drain(proc.stdout, log)
            expanded = Path(text.split(" lab_file=", 1)[1]) if " lab_file=" in text else None
            return proc, expanded
    stop_lab(proc)
    # the lab has already printed its own one-line reason on stderr
    raise DmctInputError(
        str(lab_file), f"the virtual lab did not become ready (exit status {proc.returncode})"
    )


def _drain(stream: IO[bytes], sink: IO[str] | None = None) -> None:
    """Keep reading the lab's output in the background so it can never block on a full pipe."""
    import threading

    def pump() -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in stream:
                (sink or sys.stdout).write(line.decode(errors="replace"))

    threading.Thread(target=pump, daemon=True).start()


def session_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The pytest session's environment: where ``PYTHONDONTWRITEBYTECODE`` is set (many container
    images set it) and no ``PYTHONPYCACHEPREFIX`` is, bytecode is cached under the user's cache
    (``~/.cache/dmct/pycache``, never beside the sources): otherwise the session and each xdist worker
    compile the project and re-rewrite every test module again (issue 21: half a worker's start-up).
    ``DMCT_BYTECODE_CACHE=0`` leaves the environment as it is."""
    env = dict(os.environ if environ is None else environ)
    if env.get("DMCT_BYTECODE_CACHE", "1") == "0" or "PYTHONPYCACHEPREFIX" in env:
        return env
    if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dmct" / "pycache"
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _stop(proc: subprocess.Popen[bytes], grace_s: float = 5.0, *, signalled: bool = False) -> None:
    """End pytest: SIGINT (its workers and journal close cleanly), then kill after ``grace_s``.

    ``signalled``: it already had a SIGINT (Ctrl-C in the terminal): wait for it before sending another,
    up to ``grace_s`` x 6 (30 s): on a loaded machine pytest was still writing its summary after 10 s and
    a second SIGINT then made it print a KeyboardInterrupt traceback instead of ending cleanly.
    """
    if signalled:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace_s * 6)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_lab(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()  # the lab exits when its stdin closes
    try:
        proc.wait(5.0)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _LabWatch:
    """Notices the virtual lab ending while the packs still run (killed, crashed), so that the run
    ends with one line saying so instead of only each test's own reason for being blocked."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        import threading

        self.proc = proc
        self.stopping = False
        self.died: datetime | None = None
        threading.Thread(target=self._wait, daemon=True).start()

    def _wait(self) -> None:
        self.proc.wait()
        if not self.stopping:
            self.died = datetime.now(UTC)

    def describe(self, journal: Path) -> str:
        """``the virtual lab stopped at 10:41:07Z (killed by signal 9): 5 tests blocked``."""
        from harness.errors import DmctInputError
        from harness.model.interchange import iter_results

        assert self.died is not None
        status = self.proc.returncode
        how = f"killed by signal {-status}" if status is not None and status < 0 else f"exit status {status}"
        try:
            blocked = sum(
                1 for r in iter_results(journal) if r.outcome.value == "blocked" and r.at >= self.died
            )
        except DmctInputError:
            blocked = 0
        return (
            f"the virtual lab stopped at {self.died:%H:%M:%S}Z ({how}): "
            f"{blocked} test{'s' if blocked != 1 else ''} blocked"
        )


def _journal_state(run_dir: Path, run_id: str) -> str:
    """What an interrupted run leaves: how many results, and how to judge or continue it."""
    from harness.errors import DmctInputError
    from harness.yamlio import text_lines

    journal = run_dir / "results.jsonl"
    try:
        count = sum(1 for _ in text_lines(journal)) if journal.is_file() else 0
    except DmctInputError:
        count = 0
    if not count:
        return "no results were journalled"
    return (
        f"the journal has {count} result{'s' if count != 1 else ''}; verdict in progress: "
        f"dmct verdict --run {run_dir}, or continue with dmct run --run-id {run_id} --resume"
    )


def _keep_fault_log(log: Path, run_dir: Path) -> None:
    """The faults the lab injected are evidence of the run: copied into it before the lab, which
    removes its run-scoped files when it stops, goes."""
    import shutil

    if log.is_file() and run_dir.is_dir():
        with contextlib.suppress(OSError):
            shutil.copyfile(log, run_dir / "faults.jsonl")


def _judge(run_dir: Path, fmt: str | None = None) -> int:
    """Compute the verdict of the run, print it, and write ``verdict.json`` and ``report.md``.

    The exit status follows the verdict, not pytest's: 0 when every entry judged is *successful*
    (20.32), else 1 (unsuccessful, in progress or awaiting the TAG) — a blocked test is not a product
    failure, but it leaves the entry in progress, which is not a pass (docs/exit-codes.md).
    """
    from harness.reports.console import make_console
    from harness.reports.run_summary import judge_run

    console = make_console()
    outcome = judge_run(run_dir, console, fmt)
    console.out(f"report: {outcome.report_path}")
    console.out(f"results: {os.path.relpath(run_dir / 'results.jsonl')}")
    statuses = {e.status for e in outcome.verdict.entries.values()}
    return EXIT_OK if statuses == {"successful"} else EXIT_FAILED
