"""Benchmark of report generation on the verdict benchmark's data (not a pytest test).

At 1x the data is ``bench/bench_verdict.py``'s: 1,000 planned entries × 300 planned tests, 900,000 result
lines, 10,000 Testing Issues, laid out as one run directory (``plan.json``, ``results.jsonl``,
``issues.json``). Timed, in this process: gathering (plan, journal fold, verdict, second journal pass for
histories and groups), the DMCT Testing Report of **every** entry in Markdown, one DMCT EPCL Report
covering all 1,000 entries in HTML (its heatmap has 1,000 rows, inline SVG), and the weekly report in
Markdown. The goal (issue 8) is <= 30 s in total at 1x.

    .venv/bin/python bench/bench_reports.py               # 1x
    .venv/bin/python bench/bench_reports.py --scale 0.1   # quicker look
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_verdict import write_inputs  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    from harness.reports.data import gather
    from harness.reports.epcl import build_epcl_report
    from harness.reports.render import render_html, render_markdown
    from harness.reports.testing import build_testing_report
    from harness.reports.weekly import build_weekly_report

    with tempfile.TemporaryDirectory(prefix="dmct-bench-reports-") as tmp:
        run = Path(tmp) / "run-bench"
        run.mkdir()
        _plan, _results, _issues, lines = write_inputs(run, args.scale)
        times: dict[str, float] = {}
        t0 = t = time.perf_counter()
        data = gather([run])
        times["gather"] = time.perf_counter() - t
        entries = list(data.verdict.entries)
        t = time.perf_counter()
        size = 0
        for entry in entries:
            size += len(render_markdown(build_testing_report(data, entry, date(2026, 3, 9))))
        times[f"testing x{len(entries)} md"] = time.perf_counter() - t
        t = time.perf_counter()
        epcl = render_html(build_epcl_report(data, entries, date(2026, 3, 9)))
        times["epcl html (all entries)"] = time.perf_counter() - t
        t = time.perf_counter()
        weekly = render_markdown(build_weekly_report(data, date(2026, 3, 2), date(2026, 3, 9)))
        times["weekly md"] = time.perf_counter() - t
        total = time.perf_counter() - t0
        print(f"{len(entries)} entries, {lines} result lines, {len(data.issues)} issues")
        for name, secs in times.items():
            print(f"  {name:<28} {secs:7.2f} s")
        print(
            f"  {'total':<28} {total:7.2f} s   (testing reports {size / 2**20:.1f} MiB, "
            f"EPCL html {len(epcl) / 2**20:.1f} MiB, weekly {len(weekly) / 2**10:.0f} KiB)"
        )
        print("within 30 s" if total <= 30 else "OVER the 30 s goal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
