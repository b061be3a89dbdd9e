"""Benchmark of the full ``dmct verdict --json`` path (not a pytest test).

At 1x: a plan of 1,000 entries x 300 planned tests, a results journal of 3 executions each (900,000
lines) and a Testing Issue log of 10,000 issues. Each size runs ``python -m harness.cli verdict --json``
in a fresh child process — load the three files, compute, dump the JSON — and reports its wall time and
peak RSS (``os.wait4`` rusage of that child alone). The goal (issue 3) is <= 10 s and <= 1 GB at 1x on
2 cores, with near-linear growth.

    .venv/bin/python bench/bench_verdict.py                 # 0.25x 0.5x 1x 2x
    .venv/bin/python bench/bench_verdict.py --scales 1 4    # choose sizes
    .venv/bin/python bench/bench_verdict.py --in-process    # also profile the phases in this process
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENTRIES_1X = 1_000
ISSUES_1X = 10_000
MT_TESTS = 100
SRVT_TESTS = 200
EXECUTIONS = 3
INSTALLATIONS = ("dormant", "active", "mixed")


def write_inputs(root: Path, scale: float, seed: int = 20) -> tuple[Path, Path, Path, int]:
    """Write plan.json, results.jsonl and issues.json for ``scale``; returns paths and result lines."""
    rnd = random.Random(seed)
    n_entries = max(1, round(ENTRIES_1X * scale))
    n_issues = max(1, round(ISSUES_1X * scale))
    mt = [f"mt-{i:03d}" for i in range(MT_TESTS)]
    srvt = [f"srvt-{i:03d}" for i in range(SRVT_TESTS)]
    entries = [f"E{i:05d}" for i in range(n_entries)]
    plan = {
        "profile": "dmct",
        "packs": {"dormant-mt": {"tests": mt}, "srvt": {"tests": srvt, "min_pass_rate": 0.9}},
        "entries": [
            {"id": e, "dmc": f"DMC-{i // 3:05d}", "installation": INSTALLATIONS[i % 3]}
            for i, e in enumerate(entries)
        ],
    }
    plan_path = root / "plan.json"
    plan_path.write_text(json.dumps(plan))

    results_path = root / "results.jsonl"
    lines = 0
    tests = [("dormant-mt", t) for t in mt] + [("srvt", t) for t in srvt]
    # The last execution is what counts: mostly passed, some failed (a third linked to an issue), a few
    # blocked or errored so some entries stay in progress. Earlier runs are noisier.
    last = ["passed"] * 970 + ["failed"] * 20 + ["blocked"] * 6 + ["error"] * 4
    early = ["passed"] * 70 + ["failed"] * 20 + ["blocked"] * 6 + ["error"] * 2 + ["skipped"] * 2
    with results_path.open("w", encoding="utf-8") as out:
        for day in range(EXECUTIONS):
            stamp = f"2026-03-{2 + day:02d}T"
            pool = last if day == EXECUTIONS - 1 else early
            chunk = []
            for n, entry in enumerate(entries):
                for k, (pack, test) in enumerate(tests):
                    outcome = pool[rnd.randrange(len(pool))]
                    sec = (n * 300 + k) % 86_400
                    at = f"{stamp}{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.{k:06d}Z"
                    linked = outcome == "failed" and k % 3 == 0
                    extra = f',"issues":["I{rnd.randrange(n_issues):06d}"]' if linked else ""
                    chunk.append(
                        f'{{"entry":"{entry}","pack":"{pack}","test":"{test}","outcome":"{outcome}",'
                        f'"at":"{at}","run":"run-{day}","duration":1.5{extra}}}\n'
                    )
                    lines += 1
                if len(chunk) > 50_000:
                    out.write("".join(chunk))
                    chunk.clear()
            out.write("".join(chunk))

    issues = []
    for i in range(n_issues):
        issue: dict[str, object] = {
            "id": f"I{i:06d}",
            "severity": rnd.choices([1, 2, 3, 4, 5], weights=[1, 3, 30, 33, 33])[0],
            "status": "open" if rnd.random() < 0.4 else "closed",
            "entries": [entries[rnd.randrange(n_entries)]] if rnd.random() < 0.9 else [],
            "route": rnd.choice(["a", "b", "c", "d"]) if rnd.random() < 0.95 else None,
            "service_provider": rnd.choice(["S1SP-A", "S1SP-B", "DSP", "SMSO-X"]),
            "title": f"benchmark issue {i}",
            "raised": "2026-03-02",
        }
        if rnd.random() < 0.05:
            issue["exclusion"] = {
                "rationale": "does not affect the DMC",
                "tag": rnd.choice(["pending", "agreed", "disagreed"]),
            }
        if rnd.random() < 0.01:
            issue["dispute"] = {"severity": rnd.randint(3, 5), "state": rnd.choice(["pending", "resolved"])}
        if issue["entries"] and rnd.random() < 0.5:
            issue["tests"] = [
                {
                    "entry": issue["entries"][0],
                    "pack": "srvt",  # type: ignore[index]
                    "test": srvt[rnd.randrange(SRVT_TESTS)],
                }
            ]
        issues.append(issue)
    issues_path = root / "issues.json"
    issues_path.write_text(json.dumps(issues))
    return plan_path, results_path, issues_path, lines


def run_child(plan: Path, results: Path, issues: Path, out: Path) -> tuple[float, float, float, int]:
    """Run ``dmct verdict --json`` in a child; (wall s, CPU s, peak RSS MiB, exit status).

    CPU time (user + system) is reported beside wall time because the machine may be shared.
    """
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    argv = [
        sys.executable,
        "-m",
        "harness.cli",
        "verdict",
        "--plan",
        str(plan),
        "--results",
        str(results),
        "--issues",
        str(issues),
        "--json",
    ]
    with out.open("wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=sink, env=env, cwd=REPO)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def phases(plan_path: Path, results_path: Path, issues_path: Path) -> dict[str, float]:
    """Time each phase in this process (where a slow step is, if the total is too slow)."""
    sys.path.insert(0, str(REPO))
    from harness.model.interchange import load_issues, load_plan
    from harness.rules.profiles import load_profile
    from harness.rules.verdict import compute_verdict
    from harness.store.journal import stream_results

    times: dict[str, float] = {}
    t = time.perf_counter()
    plan = load_plan(plan_path)
    times["plan"] = time.perf_counter() - t
    t = time.perf_counter()
    issues = load_issues(issues_path)
    times["issues"] = time.perf_counter() - t
    t = time.perf_counter()
    index = stream_results(plan, [results_path])
    times["results"] = time.perf_counter() - t
    t = time.perf_counter()
    verdict = compute_verdict(plan, index, issues, load_profile("dmct"))
    times["compute"] = time.perf_counter() - t
    t = time.perf_counter()
    json.dumps(verdict.to_json(), separators=(",", ":"))
    times["json"] = time.perf_counter() - t
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    parser.add_argument("--in-process", action="store_true", help="also time each phase in-process")
    parser.add_argument("--keep", type=Path, help="write the inputs here instead of a temporary directory")
    args = parser.parse_args()
    print(
        f"{'scale':>6} {'entries':>8} {'lines':>10} {'issues':>7} {'wall s':>8} {'cpu s':>7} "
        f"{'peak MiB':>9} {'us/line':>8} {'out MiB':>8}"
    )
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="dmct-bench-") as tmp:
            root = args.keep / f"x{scale:g}" if args.keep else Path(tmp)
            root.mkdir(parents=True, exist_ok=True)
            plan, results, issues, lines = write_inputs(root, scale)
            out = root / "verdict.json"
            wall, cpu, rss, code = run_child(plan, results, issues, out)
            if code != 0:
                print(f"scale {scale}: dmct verdict exited {code}", file=sys.stderr)
                return 1
            per_line = wall / lines * 1e6
            print(
                f"{scale:>6g} {round(ENTRIES_1X * scale):>8} {lines:>10} {round(ISSUES_1X * scale):>7} "
                f"{wall:>8.2f} {cpu:>7.2f} {rss:>9.0f} {per_line:>8.2f} {out.stat().st_size / 2**20:>8.1f}",
                flush=True,
            )
            if args.in_process:
                detail = phases(plan, results, issues)
                print("        phases: " + ", ".join(f"{k} {v:.2f}s" for k, v in detail.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
