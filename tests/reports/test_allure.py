"""`make report`'s Allure step with the real Allure 3 CLI (npm) and the report opened in headless Chromium.

The pack's allure results (written by allure-pytest with the dmct plugin's labels) go through exactly the
command the Makefile runs; the single-file report must group the tree by pack (epic), functional group
(feature) and SRV (story) — not by Python module — and its screenshot is kept in a temporary directory.
Skipped with the reason when npx is missing or the npm registry cannot be reached.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

# Loaded here, not first inside the in-process pytester run (the plugin reads the issue log for allure
# links): pytester drops the modules a run imported, and SQLAlchemy's compiled extensions, which Python
# never re-initialises, would then meet fresh copies of its Python classes in later tests of this worker.
import harness.store.issue_log  # noqa: F401
from harness.reports.render import CHROMIUM_FLAGS, find_chromium
from tests.conftest import REPO, VIRTUAL_LAB
from tests.foundation.test_plugin import PACK, TESTS, TOY_TTM

ALLURE = ["npx", "--yes", "allure@3"]


def _makefile_command(results: Path, out: Path) -> list[str]:
    """The Allure command of the Makefile's ``report`` target, with the directories replaced."""
    line = next(ln for ln in (REPO / "Makefile").read_text().splitlines() if "allure@3" in ln)
    argv = line.split()
    assert argv[:3] == ALLURE and "--config" in argv and "allurerc.json" in argv, line
    argv[argv.index("allurerc.json")] = str(REPO / "allurerc.json")
    argv[argv.index("results/allure")] = str(results)
    argv[argv.index("results/allure-report")] = str(out)
    return argv


@pytest.mark.skipif(shutil.which("npx") is None, reason="npx (node/npm) not installed; .ci/run installs it")
def test_make_report_groups_by_pack_group_and_srv(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pack = pytester.mkdir("toy")
    (pack / "pack.yaml").write_text(PACK)
    (pack / "requirements.yaml").write_text(TOY_TTM)
    (pack / "test_toy.py").write_text(TESTS)
    results = pytester.path / "allure"
    pytester.runpytest(
        "toy",
        "--lab",
        str(VIRTUAL_LAB),
        "--results-dir",
        str(pytester.path / "r"),
        "--alluredir",
        str(results),
    )
    out = pytester.path / "allure-report"
    try:
        proc = subprocess.run(
            _makefile_command(results, out), capture_output=True, text=True, timeout=300, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip("the Allure 3 CLI did not install within 300 s (npm registry slow or unreachable)")
    if proc.returncode != 0 and any(
        s in proc.stderr for s in ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "network")
    ):
        pytest.skip(f"the npm registry is unreachable: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    index = out / "index.html"
    assert index.is_file() and sorted(p.name for p in out.iterdir() if p.suffix == ".html") == ["index.html"]
    browser = find_chromium()
    if browser is None:
        return
    shots = tmp_path_factory.mktemp("screenshots")
    # The report is a single-page app: under load Chromium may dump the DOM before the tree renders, so
    # the dump is retried with a longer virtual-time budget until the tree (either grouping) is there.
    for budget_ms in (15000, 30000, 60000):
        common = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={pytester.path}/profile",
            f"--virtual-time-budget={budget_ms}",
            "--window-size=1400,1000",
            index.as_uri(),
        ]
        dom = subprocess.run(
            [*common[:-1], "--dump-dom", common[-1]], capture_output=True, text=True, timeout=180
        )
        if "Toy pack" in dom.stdout or ">test_toy<" in dom.stdout:
            break
    assert "Toy pack" in dom.stdout, "tree not grouped by pack (epic)"
    assert ">test_toy<" not in dom.stdout, "tree grouped by Python module, not by pack"
    shot = shots / "allure-report.png"
    subprocess.run([*common[:-1], f"--screenshot={shot}", common[-1]], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
