"""Plugin overhead per test, measured side by side against plain pytest (not a test; run it).

    .venv/bin/python bench/bench_plugin.py [--tests 2000] [--repeat 5] [--structured] [--baseline REF]

Generates a pack of trivial tests, then alternates runs of plain pytest (``-p no:dmct``), pytest with
the dmct plugin active (``--lab``), and the same with allure-pytest writing results, at two sizes.
The per-test cost is the slope between the sizes (so session start-up — lab validation, leases,
health check — is not smeared over the tests); the overhead is the difference of slopes. Medians of
the repeats of the runs' CPU time (user + system), because the machine is shared and noisy. Goal
(issues 6, 21): <= 0.3 ms/test, with plain ids and with structured manifest entries (``--structured``:
roles and requirements per test).

``--baseline REF`` also runs the plugin as it was at a git revision (checked out into a temporary
worktree; each run imports the tree it runs in), so before and after are measured side by side in one
run, interleaved.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_pack(root: Path, n: int, structured: bool = False) -> Path:
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
    if structured:
        tests = "\n".join(
            f"  - {{id: 'test_trivial.py::test_trivial[{i}]', roles: [esme]}}" for i in range(n)
        )
    else:
        tests = "\n".join(f"  - test_trivial.py::test_trivial[{i}]" for i in range(n))
    (pack / "pack.yaml").write_text(
        f"id: trivial\nname: t\nversion: '1'\ncapability_release: IOC\ntests:\n{tests}\n"
    )
    return pack


def timed(args: list[str], env: dict[str, str], tree: Path = REPO) -> float:
    """CPU seconds (user + system) of one pytest run: unlike wall time, barely moved by other load.

    Every mode gets the same empty ini file (``-c``), hence the same rootdir and settings: otherwise
    pytest picks them from its arguments — ``--lab``'s path under the repository made the plugin's
    runs take the repository's pyproject (its addopts and ini options) and a rootdir above the pack,
    so each test sat under three more directory nodes: pytest's work, not the plugin's."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    ini = Path(env["DMCT_LEASE_DIR"]).parent / "pytest.ini"
    if not ini.exists():
        ini.write_text("[pytest]\n")
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(ini), *args],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--structured", action="store_true", help="manifest entries with roles")
    parser.add_argument("--baseline", metavar="REF", help="also run the plugin of this git revision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "DMCT_LEASE_DIR": str(root / "leases")}
        small = make_pack(root, args.tests // 4, args.structured)
        large = make_pack(root, args.tests, args.structured)
        trees = {"": REPO}
        if args.baseline:
            base = root / "baseline"
            subprocess.run(
                ["git", "worktree", "add", "--detach", "-q", str(base), args.baseline], cwd=REPO, check=True
            )
            trees[f" @{args.baseline}"] = base
        try:
            _measure(args, root, env, small, large, trees)
        finally:
            if args.baseline:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(root / "baseline")], cwd=REPO, check=False
                )


def _measure(
    args: argparse.Namespace,
    root: Path,
    env: dict[str, str],
    small: Path,
    large: Path,
    trees: dict[str, Path],
) -> None:
    # Plain pytest runs the same tests: the markers' own plugin is off too (with ``-p no:dmct`` alone it
    # skips every test of a pack, and a skipped test costs pytest a third less than a passed one, which
    # counted part of pytest's own call phase as the plugin's overhead).
    modes: dict[str, tuple[Path, list[str]]] = {
        "plain pytest": (REPO, ["-p", "no:dmct", "-p", "no:dmct_markers"])
    }
    for label, tree in trees.items():
        modes[f"dmct plugin{label}"] = (  # each tree with its own lab file (its schema may differ)
            tree,
            ["--lab", str(tree / "labs/virtual.yaml"), "--results-dir", str(root / "r")],
        )
    modes["dmct + allure"] = (
        REPO,
        [
            "--lab",
            str(REPO / "labs/virtual.yaml"),
            "--results-dir",
            str(root / "r"),
            "--alluredir",
            str(root / "allure"),
        ],
    )
    times: dict[tuple[str, Path], list[float]] = {}
    for _ in range(args.repeat):
        for name, (tree, extra) in modes.items():  # interleaved: noise hits every mode alike
            for pack in (small, large):
                times.setdefault((name, pack), []).append(timed([str(pack), *extra], env, tree))
    n_small, n_large = args.tests // 4, args.tests
    slopes: dict[str, dict[str, float]] = {"median": {}, "min": {}}
    for stat, fold in (("median", statistics.median), ("min", min)):
        slope = slopes[stat]
        print(f"{stat} of {args.repeat} runs:")
        for name in modes:
            t_small = fold(times[(name, small)])
            t_large = fold(times[(name, large)])
            slope[name] = (t_large - t_small) / (n_large - n_small) * 1000
            print(
                f"  {name:24s}: {t_small:6.2f} CPU-s for {n_small}, {t_large:6.2f} CPU-s for {n_large} "
                f"tests -> {slope[name]:.3f} ms/test"
            )
    for label in trees:
        cells = ", ".join(
            f"{slopes[stat][f'dmct plugin{label}'] - slopes[stat]['plain pytest']:+.3f} ({stat})"
            for stat in slopes
        )
        print(f"dmct plugin{label} overhead, ms/test: {cells} (goal <= 0.3)")
    cells = ", ".join(
        f"{slopes[stat]['dmct + allure'] - slopes[stat]['dmct plugin']:+.3f} ({stat})" for stat in slopes
    )
    print(f"allure-pytest adds, ms/test: {cells}")


if __name__ == "__main__":
    main()
