"""Parallel speed-up over rigs with injected device latency (not a test; run it).

    .venv/bin/python bench/bench_parallel.py [--tests 48] [--latency-ms 50] [--repeat 2] [--baseline DIR]

Serves a virtual lab with 4 copies of its rig (``dmct lab up --rigs 4``), gives every device 50 ms of
reply latency through the control API, then runs one pack of readout tests with 1, 2 and 4 xdist
workers (one rig each), interleaved. Reports wall time (whole pytest session, including start-up) and
the execution span (first test start to last test end, from the results journal), and the speed-up
and efficiency of each against one rig. Goal (issue 6, issue 21): >= 3.4x at 4 rigs (85 % efficiency).

Each worker's start-up (interpreter, imports, plugin configure, collection: everything before its first
test) is measured by ``bench/worker_probe.py``: CPU seconds and wall seconds per worker, and the CPU of
the whole session (controller and workers). ``--baseline DIR`` runs the same sessions, interleaved,
from another checkout of the project (``git archive main | tar -x -C DIR``): its ``harness`` and
``device_drivers`` come first on ``sys.path``, the lab served is this tree's, so both sides see the
same devices. Minimum and median of the repeats are reported side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.model.interchange import iter_results  # noqa: E402
from labs.virtual.control import LabControl  # noqa: E402

TEST = """
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_readout(i, esme):
    assert esme.read_import_registers().unit == "kWh"
"""


def make_pack(root: Path, n: int) -> Path:
    pack = root / "par"
    pack.mkdir()
    tests = "\n".join(f"  - test_par.py::test_readout[{i}]" for i in range(n))
    (pack / "pack.yaml").write_text(
        f"id: par\nname: p\nversion: '1'\ncapability_release: IOC\ntests:\n{tests}\n"
    )
    (pack / "test_par.py").write_text(TEST.format(n=n))
    return pack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=48)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="another checkout to run side by side (e.g. main)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--profile", action="store_true", help="keep a cProfile of each worker's start-up")
    parser.add_argument(
        "--bytecode-cache",
        action="store_true",
        help="cache bytecode (and pytest's rewritten modules) per tree, as `make test` does, even where the "
        "environment sets PYTHONDONTWRITEBYTECODE; one unmeasured session per tree warms it",
    )
    args = parser.parse_args()
    trees = {"this": REPO} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "DMCT_LEASE_DIR": str(root / "leases")}
        endpoints = root / "ep.json"
        lab = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.cli",
                "lab",
                "up",
                "labs/virtual.yaml",
                "--rigs",
                "4",
                "--endpoints",
                str(endpoints),
                "--exit-with-stdin",
            ],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert lab.stdout is not None
        ready = lab.stdout.readline().decode()
        lab_file = ready.split("lab_file=")[1].strip()
        with LabControl(endpoints) as control:
            control.fault("*", latency_ms=args.latency_ms)
        pack = make_pack(root, args.tests)
        runs: dict[tuple[str, int], list[Sample]] = {}
        cache = root / "pycache" if args.bytecode_cache else None
        try:
            if cache is not None:
                for name, tree in trees.items():
                    warm = f"{name}-warm"
                    _session(tree, root, pack, lab_file, endpoints, 1, warm, cache=cache, only="[0]")
            for r in range(args.repeat):
                for workers in args.workers:
                    for name, tree in trees.items():
                        run_id = f"{name}-w{workers}-{r}"
                        sample = _session(
                            tree, root, pack, lab_file, endpoints, workers, run_id, args.profile, cache
                        )
                        assert sample.tests == args.tests, (name, workers, sample)
                        runs.setdefault((name, workers), []).append(sample)
        finally:
            assert lab.stdin is not None
            lab.stdin.close()
            lab.wait(10)
    _print(runs, args, trees)


class Sample:
    """One pytest session: wall, execution span, the workers' start-up, the session's CPU."""

    def __init__(self, wall: float, span: float, tests: int, starts: list[dict[str, float]], cpu: float):
        self.wall, self.span, self.tests, self.starts, self.cpu = wall, span, tests, starts, cpu

    def __repr__(self) -> str:
        return f"Sample(wall={self.wall:.2f}, span={self.span:.2f}, tests={self.tests})"


def _session(
    tree: Path,
    root: Path,
    pack: Path,
    lab_file: str,
    endpoints: Path,
    workers: int,
    run_id: str,
    profile: bool = False,
    cache: Path | None = None,
    only: str | None = None,
) -> Sample:
    probe = root / "probe" / run_id
    probe.mkdir(parents=True)
    env = {
        **os.environ,
        "DMCT_LEASE_DIR": str(root / "leases"),
        "PYTHONPATH": os.pathsep.join([str(tree), str(REPO / "bench")]),
        "DMCT_PROBE_DIR": str(probe),
        **({"DMCT_PROBE_PROFILE": "1"} if profile else {}),
    }
    if cache is not None:  # as the Makefile's PYCACHE: one cache per tree (same module names)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache / tree.name)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "worker_probe",
            str(pack / "test_par.py") + f"::test_readout{only}" if only else str(pack),
            "--lab",
            lab_file,
            "--lab-endpoints",
            str(endpoints),
            "-n",
            str(workers),
            "--results-dir",
            str(root / "results"),
            "--run-id",
            run_id,
        ],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    records = list(iter_results(root / "results" / run_id / "results.jsonl"))
    assert all(x.outcome.value == "passed" for x in records)
    rigs = {x.extra["rig"] for x in records}
    assert len(rigs) == workers, rigs
    ends = [x.at.timestamp() for x in records]
    starts = [x.at.timestamp() - x.extra["duration_s"] for x in records]
    lines = [json.loads(x) for x in (probe / "probe.jsonl").read_text().splitlines()]
    firsts = [x for x in lines if x["event"] == "first_test"]
    assert len(firsts) == workers, lines
    if profile:
        kept = Path(tempfile.gettempdir()) / "dmct-worker-profiles" / run_id
        kept.mkdir(parents=True, exist_ok=True)
        for prof in probe.glob("*.prof"):
            prof.replace(kept / prof.name)
    return Sample(wall, max(ends) - min(starts), len(records), firsts, cpu)


def _efficiency(one: list[float], many: list[float], workers: int) -> str:
    """Speed-up per worker against one rig, of the minima and of the medians."""
    best = min(one) / min(many) / workers
    typical = statistics.median(one) / statistics.median(many) / workers
    return f"{best:4.0%} / {typical:4.0%}"


def _print(
    runs: dict[tuple[str, int], list[Sample]], args: argparse.Namespace, trees: dict[str, Path]
) -> None:
    print(
        f"{args.tests} readout tests, {args.latency_ms:g} ms latency per reply, {args.repeat} repeat(s); "
        "min / median of the repeats"
    )
    print(
        "tree      rigs | wall s          eff (min/med) | span s          eff (min/med) | "
        "worker start CPU s (min/med) | to 1st test wall s | session CPU s"
    )
    for name in trees:
        one = runs.get((name, 1))
        for workers in args.workers:
            got = runs[(name, workers)]
            walls, spans = [x.wall for x in got], [x.span for x in got]
            cpu = [w["cpu_s"] for x in got for w in x.starts]
            to_first = [w["wall_s"] for x in got for w in x.starts]
            eff = span_eff = "    n/a      "
            if one is not None:
                eff = _efficiency([x.wall for x in one], walls, workers)
                span_eff = _efficiency([x.span for x in one], spans, workers)
            print(
                f"{name:9} {workers:4} | {min(walls):6.2f} {statistics.median(walls):6.2f}  {eff} | "
                f"{min(spans):6.2f} {statistics.median(spans):6.2f}  {span_eff} | "
                f"{min(cpu):5.2f} / {statistics.median(cpu):5.2f}                 | "
                f"{min(to_first):5.2f} / {statistics.median(to_first):5.2f}      | "
                f"{statistics.median(x.cpu for x in got):6.2f}"
            )


if __name__ == "__main__":
    main()
