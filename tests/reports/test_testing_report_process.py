"""``dmct report testing`` on the points issue 16 corrects: the item (b) label of a standard pack with
tests not applicable to the DMC (20.17), a Work Off Plan for every open issue in (d) (15.1, 20.34 (d)),
exclusions in respect of one entry in (f) (20.29), and a pack's pass rate cited as its own in (h)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from tests.reports.dataset import BAD, OK


def _report(capsys: pytest.CaptureFixture[str], entry: str) -> str:
    code = main(["report", "testing", "--entry", entry, "--issues", "issues.json", "--date", "2026-11-30",
                 "--format", "md"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def _section(text: str, key: str) -> str:
    start = text.index(f"## ({key})")
    return text[start : text.index("\n## ", start + 1)]


def test_standard_pack_with_tests_not_applicable_is_not_a_non_standard_pack_20_17(
    ds: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # 20.17: "The DCC may propose to execute a different set of tests (a DMCT Non-Standard Test Pack) ...
    # Prior to doing so, the DCC shall discuss the proposed set of tests with the TAG and seek agreement".
    # An entry listing only the standard SRVT tests that apply to its DMC is not such a pack.
    for run in ("R1", "R2"):
        path = Path("results") / run / "plan.json"
        plan = json.loads(path.read_text())
        plan["entries"][0]["tests"] = {
            "srvt": [t for t in plan["packs"]["srvt"]["tests"] if t != "srvt-4.1.2"]
        }
        path.write_text(json.dumps(plan))
    item_b = _section(_report(capsys, OK), "b")
    assert "Non-Standard" not in item_b
    assert "| 5 of 6 (standard pack; 1 not applicable to this DMC) |" in item_b


def test_every_open_issue_has_a_work_off_plan_and_entry_exclusions_show_15_1_20_34_d(
    ds: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # 15.1: "all open Testing Issues shall be documented in a Work Off Plan"; 20.34 (d): "confirmation that
    # all open Testing Issues have been captured and either closed, or where still open, Work Off Plans
    # are in place". A severity 2 issue excluded in respect of OK only (20.29) still has a plan.
    log = json.loads(Path("issues.json").read_text())
    log.append({
        "id": "TI-0005", "severity": 2, "status": "open", "entries": [OK, BAD], "route": "a",
        "title": "display flicker", "service_provider": "S1SP",
        "exclusions": {OK: {"rationale": "OK's IHD is not used for this function", "tag": "agreed"}},
    })  # fmt: skip
    Path("issues.json").write_text(json.dumps(log))
    text = _report(capsys, OK)
    item_d = _section(text, "d")
    assert "NO Work Off Plan" not in item_d
    assert (
        "| TI-0005 | 2 | display flicker | (a) DCC Internal Systems, no Code change | excluded (20.29), TAG "
        "agreed: see (f); Work Off Plan, due its own date (15.1 sets none for severity 1-2) |"
    ) in item_d
    assert "Confirmed: all 3 open Testing Issues affecting" in item_d
    item_f = _section(text, "f")
    assert (
        "| TI-0005 | 2 | display flicker | agreed | no | OK's IHD is not used for this function |" in item_f
    )
    # The same issue is not excluded in respect of BAD: it is counted there (and in the aggregate that
    # judges BAD, 20.28 (b)), so BAD's statement names Table 20.1.
    bad = _report(capsys, BAD)
    assert "20.28 (a), Table 20.1: 1 extant severity 2 issue(s)" in _section(bad, "i")
    # 20.34 (h): "any other information as prescribed in the relevant test pack" -- the pass rate is the
    # pack's own criterion, not a completion condition of clause 20.
    assert "the pack's own criterion" in _section(text, "h")
