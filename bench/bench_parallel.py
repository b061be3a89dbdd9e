"""Parallel speed-up over rigs with injected device latency (not a test; run it).

    .venv/bin/python bench/bench_parallel.py [--tests 48] [--latency-ms 50] [--repeat 2]

Serves a virtual lab with 4 copies of its rig (``dmct lab up --rigs 4``), gives every device 50 ms of
reply latency through the control API, then runs one pack of readout tests with 1, 2 and 4 xdist
workers (one rig each), interleaved. Reports wall time (whole pytest session, including start-up) and
the execution span (first test start to last test end, from the results journal), and the speed-up
and efficiency of each against one rig. Goal (issue 6): >= 3.4x at 4 rigs (85 % efficiency).
"""

from __future__ import annotations

import argparse
import os
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
    args = parser.parse_args()
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
        walls: dict[int, list[float]] = {}
        spans: dict[int, list[float]] = {}
        try:
            for r in range(args.repeat):
                for workers in (1, 2, 4):
                    run_id = f"w{workers}-{r}"
                    start = time.perf_counter()
                    subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "pytest",
                            "-q",
                            "-p",
                            "no:cacheprovider",
                            str(pack),
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
                        cwd=REPO,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        check=True,
                    )
                    walls.setdefault(workers, []).append(time.perf_counter() - start)
                    records = list(iter_results(root / "results" / run_id / "results.jsonl"))
                    assert len(records) == args.tests and all(x.outcome.value == "passed" for x in records)
                    rigs = {x.extra["rig"] for x in records}
                    assert len(rigs) == workers, rigs
                    ends = [x.at.timestamp() for x in records]
                    starts = [x.at.timestamp() - x.extra["duration_s"] for x in records]
                    spans.setdefault(workers, []).append(max(ends) - min(starts))
        finally:
            assert lab.stdin is not None
            lab.stdin.close()
            lab.wait(10)
        base_wall, base_span = statistics.median(walls[1]), statistics.median(spans[1])
        print(
            f"{args.tests} readout tests, {args.latency_ms:g} ms latency per reply, medians of {args.repeat}"
        )
        for workers in (1, 2, 4):
            wall, span = statistics.median(walls[workers]), statistics.median(spans[workers])
            print(
                f"{workers} rig(s): wall {wall:6.2f} s (x{base_wall / wall:4.2f}, "
                f"{base_wall / wall / workers:4.0%}) | execution span {span:6.2f} s "
                f"(x{base_span / span:4.2f}, {base_span / span / workers:4.0%})"
            )


if __name__ == "__main__":
    main()
