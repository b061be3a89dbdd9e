"""Plugin overhead per test, measured side by side against plain pytest (not a test; run it).

    .venv/bin/python bench/bench_plugin.py [--tests 2000] [--repeat 5]

Generates a pack of trivial tests, then alternates runs of plain pytest (``-p no:dmct``), pytest with
the dmct plugin active (``--lab``), and the same with allure-pytest writing results, at two sizes.
The per-test cost is the slope between the sizes (so session start-up — lab validation, leases,
health check — is not smeared over the tests); the overhead is the difference of slopes. Medians of
the repeats, because the machine is shared and noisy. Goal (issue 6): <= 0.3 ms/test.
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


def make_pack(root: Path, n: int) -> Path:
    pack = root / f"trivial{n}"
    pack.mkdir()
    lines = [
        "import pytest",
        "",
        f"@pytest.mark.parametrize('i', range({n}))",
        "def test_trivial(i):",
        "    assert i >= 0",
        "",
    ]
    (pack / "test_trivial.py").write_text("\n".join(lines))
    tests = "\n".join(f"  - test_trivial.py::test_trivial[{i}]" for i in range(n))
    (pack / "pack.yaml").write_text(
        f"id: trivial\nname: t\nversion: '1'\ncapability_release: IOC\ntests:\n{tests}\n"
    )
    return pack


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "DMCT_LEASE_DIR": str(root / "leases")}
        small, large = make_pack(root, args.tests // 4), make_pack(root, args.tests)
        modes = {
            "plain pytest": ["-p", "no:dmct"],
            "dmct plugin": ["--lab", str(REPO / "labs/virtual.yaml"), "--results-dir", str(root / "r")],
            "dmct + allure": [
                "--lab",
                str(REPO / "labs/virtual.yaml"),
                "--results-dir",
                str(root / "r"),
                "--alluredir",
                str(root / "allure"),
            ],
        }
        times: dict[tuple[str, Path], list[float]] = {}
        for _ in range(args.repeat):
            for name, extra in modes.items():  # interleaved: noise hits every mode alike
                for pack in (small, large):
                    times.setdefault((name, pack), []).append(timed([str(pack), *extra], env))
        n_small, n_large = args.tests // 4, args.tests
        slope = {}
        for name in modes:
            t_small = statistics.median(times[(name, small)])
            t_large = statistics.median(times[(name, large)])
            slope[name] = (t_large - t_small) / (n_large - n_small) * 1000
            print(
                f"{name:14s}: {t_small:6.2f} s for {n_small}, {t_large:6.2f} s for {n_large} tests "
                f"-> {slope[name]:.3f} ms/test"
            )
        base = slope["plain pytest"]
        print(f"dmct plugin overhead: {slope['dmct plugin'] - base:+.3f} ms/test (goal <= 0.3)")
        print(f"allure-pytest adds:   {slope['dmct + allure'] - slope['dmct plugin']:+.3f} ms/test")


if __name__ == "__main__":
    main()
