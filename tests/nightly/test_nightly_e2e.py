"""Done when: ``ci/nightly`` run locally against the virtual lab, with a seeded defect switched on between
two nights, shows exactly that regression in the diff (and exits 0 on the first night, non-zero on the
second).

A handful of SRVT tests keeps it fast: ``-k`` selects Disable Supply (SRV 7.2, and by name 8.7.2, Join
Service) on the default entry; ``supply_state_unchanged_by_disable`` on the ESME of the lab's standard
rig breaks exactly SRV 7.2 on the ESME (``tests/packs/test_srvt_pack.py`` lists it as that defect's
catcher; the GSME and the joins are untouched). Read Supply Status (7.4) is left out on purpose: whether
it sees the stuck supply depends on how the virtual route reports state, which is not what this tests.
The night plans only what ``-k`` selects, so the regression profile passes on a clean lab.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.regression.diff import CATEGORIES
from harness.regression.night_files import read_latest
from tests.conftest import REPO

ENTRY = "EPCL-VDMC1-D"
SELECT = "test_positive and 7.2-"
DEFECT = "supply_state_unchanged_by_disable"
BREAKS = {"test_srv.py::test_positive[7.2-esme]"}


def _lab(defects: list[str]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["entries"] = [e for e in data["entries"] if e["id"] == ENTRY]  # one entry
        esme = next(d for d in data["rigs"][0]["devices"] if d["role"] == "esme")
        esme["virtual"]["defects"] = list(defects)

    return edit


def _night(lab: Path, out: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DMCT_STORE", "DMCT_EVIDENCE_KEY")}
    env["DMCT_RESULTS"] = str(tmp_path / "results")  # no Testing Issue log: every failure counts
    cmd = [str(REPO / "ci" / "nightly"), "--lab", str(lab), "--out", str(out), "-n", "0",
           "--pack", str(REPO / "test_packs" / "service_reference_variant"), "--", "-k", SELECT]  # fmt: skip
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # `make slow` (in .ci/run): two nights end to end; make test unit-tests the diff
def test_seeded_defect_between_two_nights_is_exactly_the_regression(
    tmp_path: Path, lab_file: Callable[..., Path]
) -> None:
    out = tmp_path / "nightly"
    lab = lab_file(_lab([]))
    first = _night(lab, out, tmp_path)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    night1 = read_latest(out)
    assert night1 is not None
    summary1 = json.loads((night1 / "summary.json").read_text())
    planned = summary1["entries"][ENTRY]["regression"]
    assert planned["status"] == "successful" and planned["planned"] == planned["passed"] == 5
    assert summary1["entries"][ENTRY]["dmct"]["status"] == "in_progress"  # the subset: not a regression
    assert summary1["diff"] is None

    lab_file(_lab([DEFECT]))  # the same lab file, the defect switched on
    second = _night(lab, out, tmp_path)
    assert second.returncode == 1, second.stdout[-3000:] + second.stderr[-3000:]
    night2 = read_latest(out)
    assert night2 is not None and night2 != night1

    diff = json.loads((night2 / "diff.json").read_text())
    entry = diff["entries"][ENTRY]
    assert {t["test"] for t in entry["new_failures"]} == BREAKS
    assert all(entry[c] == [] for c in CATEGORIES if c != "new_failures"), entry
    assert entry["counts"]["unchanged"] == 4
    assert entry["conditions"]["status"] == "changed"
    assert f"rig-1/esme defects: none → {DEFECT}" in entry["conditions"]["changes"]
    # The diff agrees with the journal: what failed tonight is what the defect breaks.
    run = night2 / json.loads((night2 / "summary.json").read_text())["entries"][ENTRY]["run"]
    failed = {
        r["test"]
        for r in map(json.loads, (run / "results.jsonl").read_text().splitlines())
        if r["outcome"] == "failed"
    }
    assert failed == BREAKS

    summary = json.loads((night2 / "summary.json").read_text())
    assert summary["exit_status"] == 1 and summary["regression"] is True
    assert any("new failures vs the previous night (1): srvt test_srv.py::test_positive[7.2-esme]" in r
               for r in summary["reasons"])  # fmt: skip
    assert [p["pass_rate"] for p in summary["trend"]] == [1.0, 4 / 5]
    md = (night2 / "summary.md").read_text()
    assert "REGRESSION" in md and "test_positive[7.2-esme]" in md and "![trend" in md
    for artifact in summary["entries"][ENTRY]["artifacts"].values():
        assert (night2 / artifact).is_file(), artifact
    assert (night2 / "trend.png").read_bytes().startswith(b"\x89PNG")
    bundle = night2 / "evidence" / f"{ENTRY}.evidence.tar.gz"
    verify = subprocess.run(
        [sys.executable, "-m", "harness.cli", "evidence", "verify", str(bundle)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
