"""Words a reader trips over: counts that read right for 0 and 1, no status repeated after the outcome
that says it, and ``not_applicable`` in the reports as on pytest's console (not ``skipped``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from harness.model.interchange import Outcome, ResultRecord
from harness.reports.data import gather
from harness.reports.render import render_markdown
from harness.reports.run_summary import render_markdown as run_summary
from harness.reports.testing import build_testing_report, confirmation
from tests.reports.dataset import OK


def test_issue_counts_read_right() -> None:
    assert (
        confirmation("E", 0, 2)
        == "Confirmed: no open Testing Issue affects E; 2 issues affecting it are closed."
    )
    one = confirmation("E", 1, 1)
    assert one.startswith("Confirmed: the one open Testing Issue affecting E is captured")
    assert one.endswith("1 issue affecting it is closed.")
    assert confirmation("E", 3, 0).startswith("Confirmed: all 3 open Testing Issues affecting E are")
    assert "(s)" not in one + confirmation("E", 0, 0)


def test_statement_does_not_repeat_the_status(ds: dict[str, Path]) -> None:
    data = gather([ds["R1"], ds["R2"]], issues_file=Path("issues.json"))
    text = render_markdown(build_testing_report(data, OK, date(2026, 11, 30)))
    assert f"Testing for {OK} has completed successfully, because:" in text
    assert "(successful)" not in text and "Issue(s)" not in text


def test_not_applicable_is_not_called_skipped(ds: dict[str, Path]) -> None:
    for run in ("R1", "R2"):  # every execution of srvt-6.2.5 for OK: a test its DMC has no device for
        journal = ds[run] / "results.jsonl"
        objs = [json.loads(line) for line in journal.read_text().splitlines()]
        for obj in objs:
            if obj["test"] == "srvt-6.2.5" and obj["entry"] == OK:
                obj |= {"outcome": "skipped", "not_applicable": True, "reason": "not applicable: no gsme"}
        journal.write_text("".join(json.dumps(o) + "\n" for o in objs))
    data = gather([ds["R1"], ds["R2"]], issues_file=Path("issues.json"))
    text = render_markdown(build_testing_report(data, OK, date(2026, 11, 30)))
    rows = [line for line in text.splitlines() if line.startswith("| srvt | srvt-6.2.5 |")]
    row = next(line for line in rows if "2026-11-" in line)  # the results table, not the planned tests
    assert "| not_applicable |" in row, row
    record = ResultRecord(OK, "srvt", "t", Outcome.SKIPPED, datetime.now(UTC), {"not_applicable": True})
    summary = run_summary({"entry": {}}, {(OK, "srvt", "t"): record}, {})
    assert "| srvt | `t` | not_applicable |" in summary
