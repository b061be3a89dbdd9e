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
from pathlib import Path
from types import FrameType
from typing import IO, Any

ORDER = 10
READY_TIMEOUT_S = 30.0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "run", help="run the packs against an entry of a lab and print the verdict"
    )
    parser.add_argument("--lab", type=Path, default=Path("labs/virtual.yaml"), help="lab inventory file")
    parser.add_argument("--entry", help="planned EPCL entry (default: the lab's default entry)")
    parser.add_argument("-n", "--workers", default="2", help="pytest-xdist workers (0 = no xdist)")
    parser.add_argument(
        "--rigs",
        type=int,
        default=1,
        metavar="N",
        help="virtual labs only: serve N copies of every rig, so N workers run in parallel",
    )
    parser.add_argument("--results-dir", type=Path, help="where runs are written (default results/)")
    parser.add_argument("--run-id", help="run id (default: UTC time + random suffix)")
    parser.add_argument(
        "--pack", action="append", type=Path, help="pack directory (repeatable; default: the standard packs)"
    )
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: extra pytest arguments")
    parser.set_defaults(func=_run)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _die_with_parent() -> None:
    """In the child (Linux): receive SIGTERM if ``dmct run`` dies, even by SIGKILL."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _run(args: argparse.Namespace) -> int:
    from harness.lab.inventory import load_lab
    from harness.model.packs import discover, plan_for_dmc, standard_pack_roots, with_bases
    from harness.paths import new_run_id, results_dir

    lab = load_lab(args.lab)
    entry = lab.select_entries([args.entry] if args.entry else None)[0]
    base = results_dir(args.results_dir)
    run_id = args.run_id or new_run_id()
    run_dir = base / run_id
    # Each pack's manifest for the entry's Capability Release (20.16); a non-standard pack (20.17) runs
    # with the standard pack it changes. Bad manifests, or a non-standard pack for another DMC, are
    # refused here in one line, before any lab starts.
    pack_paths = with_bases(args.pack) if args.pack else standard_pack_roots()
    plan_for_dmc(discover(pack_paths, entry.capability_release), entry.dmc, entry.id)
    added = pack_paths[len(args.pack or ()) :] if args.pack else []
    packs = [str(p) for p in pack_paths]
    extra = [a for a in args.pytest_args if a != "--"]

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    lab_proc: subprocess.Popen[bytes] | None = None
    tests: subprocess.Popen[bytes] | None = None
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
            "-q",
            *extra,
        ]
        if str(args.workers) != "0":
            cmd += ["-n", str(args.workers)]
        if lab.virtual:
            endpoints = base / ".lab" / f"{run_id}.endpoints.json"
            lab_proc, expanded = start_lab(args.lab, endpoints, args.rigs)
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
        tests = subprocess.Popen(cmd, preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        pytest_status = tests.wait()
        tests = None
    except KeyboardInterrupt:
        print("dmct run: interrupted; stopping", file=sys.stderr, flush=True)
        return 130
    finally:
        if tests is not None:
            _stop(tests)
        if lab_proc is not None:
            stop_lab(lab_proc)
        signal.signal(signal.SIGTERM, previous)

    if pytest_status not in (0, 1) or not (run_dir / "results.jsonl").exists():
        print(f"dmct run: pytest ended with status {pytest_status}; no verdict", file=sys.stderr)
        return pytest_status or 2
    return _judge(run_dir, pytest_status)


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
    from harness.errors import DmctInputError

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


def _stop(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
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


def _judge(run_dir: Path, pytest_status: int) -> int:
    """Compute the verdict of the run, print it, and write ``verdict.json`` and ``report.md``."""
    from rich.console import Console

    from harness.reports.run_summary import judge_run

    console = Console()
    outcome = judge_run(run_dir, console)
    console.print(f"report: {outcome.report_path}")
    console.print(f"results: {os.path.relpath(run_dir / 'results.jsonl')}")
    return 0 if pytest_status == 0 else 1
