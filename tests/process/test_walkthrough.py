"""The walk-through of issue 16: one planned entry from planned to a final DMCT Testing Report and a DMCT
EPCL Report, through the command line only, checking the status, the verdict and the reports at each
step: a pause (20.21), an issue routed (c) and reconsidered after the Secretary of State disagrees
(20.26), a TAG disagreement answered by continued testing (20.38 (c)), and a Supplier Party's referral
window that lapses (20.37, 20.39 (a)). The data set is the reports' (tests/reports/dataset.py):
EPCL-ACME1-D, runs R1 and R2 in November 2026.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from tests.reports.dataset import OK, SUPPLIER


class Dmct:
    def __init__(self, capsys: pytest.CaptureFixture[str], url: str):
        self.capsys, self.url = capsys, url

    def __call__(self, *argv: str, code: int = 0) -> str:
        got = main(list(argv))
        out, err = self.capsys.readouterr()
        assert got == code, (argv, out, err)
        self.err = err
        return out

    def entries(self, *argv: str, code: int = 0) -> str:
        return self(
            argv[0] if argv[0] == "entries" else "entries",
            *argv[1:] if argv[0] == "entries" else argv,
            code=code,
        )

    def verdict(self) -> dict[str, Any]:
        out = self(
            "verdict",
            "--plan",
            "results/R2/plan.json",
            "--results",
            "results/R1/results.jsonl",
            "--results",
            "results/R2/results.jsonl",
            "--json",
        )
        entry: dict[str, Any] = json.loads(out)["entries"][OK]
        return entry

    def status(self) -> str:
        return str(json.loads(self("entries", "show", OK, "--json"))["status"])

    def state(self, today: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self("entries", "draft", OK, "state", "--today", today, "--json"))
        return data


@pytest.fixture
def cli(
    ds: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Dmct:
    url = f"sqlite:///{tmp_path / 'dmct.sqlite'}"
    monkeypatch.setenv("DMCT_STORE", url)
    monkeypatch.setenv("DMCT_USER", "test-manager")
    run = Dmct(capsys, url)
    run("issues", "import", "issues.json")
    return run


def test_one_entry_from_planned_to_a_final_report_and_the_epcl_report(cli: Dmct) -> None:
    dmct = cli
    # 20.8 Status List, 20.9 Schedule
    dmct("entries", "add", OK, "--dmc", "ACME1", "--installation", "dormant")
    assert dmct.status() == "planned"
    dmct(
        "entries",
        "schedule",
        OK,
        "--start",
        "2026-11-16",
        "--completion",
        "2026-11-25",
        "--pack",
        "dormant-mt",
        "--pack",
        "srvt",
        "--capability-release",
        "IOC",
        "--on",
        "2026-11-02",
    )
    dmct("entries", "status", OK, "testing", "--on", "2026-11-16")
    # 20.21: paused while TI-0001 (route (a)) is fixed, recommenced; 20.22 (a) revised completion date
    dmct(
        "entries",
        "pause",
        OK,
        "--reason",
        "TI-0001: DCC Internal Systems fix",
        "--issue",
        "TI-0001",
        "--on",
        "2026-11-17",
    )
    assert dmct.status() == "paused"
    weekly = dmct("report", "weekly", "--week", "2026-W47", "--date", "2026-11-23")
    assert f"| {OK} | ACME1 | paused | 2026-11-17 | TI-0001: DCC Internal Systems fix | TI-0001 |" in weekly
    dmct("entries", "resume", OK, "--reason", "fix deployed; R2 re-runs", "--on", "2026-11-23")
    dmct(
        "entries",
        "schedule",
        OK,
        "--revised-completion",
        "2026-11-26",
        "--reason",
        "re-run after TI-0001",
        "--issue",
        "TI-0001",
        "--on",
        "2026-11-23",
    )
    assert "recommenced" in dmct("report", "weekly", "--week", "2026-W48", "--date", "2026-11-30")
    # A new issue for the CH is raised and recommended for route (c), a firmware upgrade; the Secretary of
    # State disagrees (20.26), the DCC reconsiders and recommends route (a) instead (20.22 (a))
    dmct("issues", "add", "--title", "CH join retries slow", "--severity", "4", "--entry", OK)
    verdict = dmct.verdict()
    assert verdict["status"] == "in_progress" and verdict["unrouted"] == ["TI-0005"]
    dmct("issues", "route", "TI-0005", "c", "--change", "firmware", "--on", "2026-11-24")
    dmct("issues", "route", "TI-0005", "notify", "--on", "2026-11-24")
    assert "awaiting the Secretary of State's answer" in dmct.verdict()["reasons"][0]
    dmct("issues", "route", "TI-0005", "sos", "disagrees", "--on", "2026-11-25")
    assert "reconsidering" in dmct.verdict()["reasons"][0]
    for step in (("a",), ("notify",), ("impact", "none")):
        dmct("issues", "route", "TI-0005", *step, "--on", "2026-11-25")
    assert dmct.verdict()["unrouted"] == []
    # TI-0003 (excluded, TAG pending) becomes severity 2: a TAG disagreement would now flip the outcome
    dmct("issues", "update", "TI-0003", "--severity", "2")
    verdict = dmct.verdict()
    assert verdict["status"] == "successful" and verdict["depends_on_tag"] == ["TI-0003"]  # 20.39 (b)
    # 20.31: no draft before testing has completed on the Status List
    dmct("report", "testing", "--entry", OK, "--date", "2026-11-26", "-o", "d0.md", code=2)
    assert "not completed (20.31)" in dmct.err and not Path("d0.md").exists()
    dmct("entries", "status", OK, "completed", "--on", "2026-11-26")
    dmct("report", "testing", "--entry", OK, "--date", "2026-11-26", "-o", "d1.md")
    assert "recorded the draft DMCT Testing Report" in dmct.err
    state = dmct.state("2026-11-26")
    assert state["state"] == "draft" and any(r.startswith("20.36") for r in state["reasons"])
    # 20.41 (b)(i): no EPCL proposal on a draft
    epcl = dmct("report", "epcl", "--entry", OK, "--date", "2026-11-26")
    assert (
        "0 of 1 planned entry proposed" in epcl and "20.41 (b)(i): no final DMCT Testing Report" in dmct.err
    )

    # 20.38 (b), (c): the TAG disagrees with excluding TI-0003, which would make testing unsuccessful;
    # the DCC continues testing
    dmct("issues", "tag", "TI-0003", "disagreed")
    verdict = dmct.verdict()
    assert verdict["status"] == "in_progress" and verdict["reasons"][0].startswith("20.38 (c)")
    dmct("entries", "draft", OK, "tag-review", "continue-testing", "--on", "2026-11-27")
    assert dmct.status() == "testing"  # "Clause 20.13 onwards shall apply again"
    assert dmct.state("2026-11-27")["state"] == "testing_continues"
    # the DMC's fix for TI-0003 is verified and the issue closed: successful again, nothing pending
    dmct("issues", "close", "TI-0003")
    verdict = dmct.verdict()
    assert verdict["status"] == "successful" and verdict["depends_on_tag"] == []
    dmct("entries", "status", OK, "completed", "--on", "2026-11-30")
    dmct("report", "testing", "--entry", OK, "--date", "2026-11-30", "-o", "d2.md")
    # 20.36: the Supplier Party planning to enrol receives it; 20.38: the TAG's review finds nothing
    dmct("entries", "draft", OK, "received", "--supplier", SUPPLIER, "--on", "2026-11-30")
    dmct("entries", "draft", OK, "tag-review", "no-flip", "--on", "2026-12-01")
    # 20.37: the Supplier may refer within 10 Working Days of receiving it: until Monday 14 December
    state = dmct.state("2026-12-14")
    assert state["state"] == "draft"
    assert state["reasons"] == [
        f"20.39 (a): {SUPPLIER} may refer until 2026-12-14 (10 Working Days from "
        "2026-11-30, 20.37) and has not confirmed it will not"
    ]
    # the window lapses without a referral: final (20.39)
    final = dmct.state("2026-12-15")
    assert (final["state"], final["status"]) == ("final", "successful")
    epcl = dmct("report", "epcl", "--entry", OK, "--date", "2026-12-15")
    assert "1 of 1 planned entry proposed" in epcl and "own testing (20.41 (b)(i))" in epcl
    assert "final: 20.39" in epcl and dmct.err == ""
    history = json.loads(dmct("entries", "show", OK, "--json"))["history"]
    # the audit trail of the status and the reports, in order (20.38 (c) changed both at once)
    assert [(h["action"], h["field"]) for h in history if h["field"] in ("status", "reports", None)] == [
        ("add", None),
        ("schedule", "status"),
        ("status", "status"),
        ("pause", "status"),
        ("resume", "status"),
        ("status", "status"),
        ("draft", "reports"),
        ("tag-review", "status"),
        ("tag-review", "reports"),
        ("status", "status"),
        ("draft", "reports"),
        ("received", "reports"),
        ("tag-review", "reports"),
    ]
