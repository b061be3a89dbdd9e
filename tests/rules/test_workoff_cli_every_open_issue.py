"""``dmct workoff`` through the command line: a line for every open issue (15.1, 20.34 (d))."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.cli import main


def test_excluded_and_severity_2_issues_get_a_work_off_plan_line_15_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 15.1: "all open Testing Issues shall be documented in a Work Off Plan"
    log = [
        {
            "id": "A",
            "severity": 3,
            "status": "open",
            "exclusion": {"rationale": "not the DMC", "tag": "agreed"},
        },
        {"id": "B", "severity": 2, "status": "open", "entries": ["E1"]},
        {"id": "C", "severity": 4, "status": "closed"},
    ]
    (tmp_path / "issues.yaml").write_text(yaml.safe_dump(log))
    argv = [
        "workoff",
        "--issues",
        str(tmp_path / "issues.yaml"),
        "--certificate-date",
        "2026-12-04",
        "--json",
    ]
    assert main(argv) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["issues"]}
    assert sorted(rows) == ["A", "B"]
    assert (
        rows["A"]["due"] == "2027-01-06"
        and "still under a Work Off Plan (15.1, 20.34 (d))" in rows["A"]["note"]
    )
    assert (
        rows["B"]["due"] is None and "the Work Off Plan states its own resolution date" in rows["B"]["note"]
    )
