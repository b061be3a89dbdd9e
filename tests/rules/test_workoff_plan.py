"""Work Off Plans (15.1, 15.2): which issues get one, their due dates and overdue flags."""

from __future__ import annotations

from datetime import date
from typing import Any

from harness.model.interchange import Issue
from harness.rules.workoff import work_off_plan, work_off_row

CERT = date(2026, 12, 4)  # Friday; severity 3/4/5 due 2027-01-06 / 2027-02-03 / 2027-03-03


def issue(id: str, severity: int = 3, **fields: Any) -> Issue:
    return Issue.model_validate({"id": id, "severity": severity, "status": "open", "route": "a", **fields})


def test_every_open_issue_gets_a_work_off_plan_15_1() -> None:
    # 15.1: "all open Testing Issues shall be documented in a Work Off Plan"; 20.34 (d): "confirmation
    # that all open Testing Issues have been captured and either closed, or where still open, Work Off
    # Plans are in place" -- excluded issues included: an exclusion leaves the count (20.29), not the plan.
    issues = [
        issue("open"),
        issue("closed", status="closed"),
        issue("pending", exclusion={"rationale": "r", "tag": "pending"}),
        issue("agreed", exclusion={"rationale": "r", "tag": "agreed"}),
        issue("disagreed", exclusion={"rationale": "r", "tag": "disagreed"}),
        issue("for-e1", exclusions={"E1": {"rationale": "r", "tag": "agreed"}}),
    ]
    rows = work_off_plan(issues, CERT)
    assert [r.id for r in rows] == ["open", "pending", "agreed", "disagreed", "for-e1"]
    assert all(r.due == date(2027, 1, 6) for r in rows)  # 15.1 (a) applies to excluded issues too
    notes = {r.id: r.notes for r in rows}
    assert notes["open"] == notes["disagreed"] == ()
    assert "still under a Work Off Plan" in notes["agreed"][0]
    assert "in respect of E1" in notes["for-e1"][0]


def test_due_dates_follow_15_1_and_rows_are_ordered_by_due_date() -> None:
    rows = work_off_plan([issue("s5", 5), issue("s3", 3), issue("s4", 4)], CERT)
    assert [(r.id, r.working_days, r.due) for r in rows] == [
        ("s3", 20, date(2027, 1, 6)),
        ("s4", 40, date(2027, 2, 3)),
        ("s5", 60, date(2027, 3, 3)),
    ]


def test_severity_1_and_2_are_planned_with_their_own_dates() -> None:
    # 15.1 (a)-(c) give timescales for severities 3-5 only; severity 1-2 open issues still need a plan.
    rows = work_off_plan([issue("s3", 3), issue("s1", 1), issue("s2", 2)], CERT, today=date(2027, 6, 1))
    assert [r.id for r in rows] == ["s1", "s2", "s3"]
    for row in rows[:2]:
        assert row.due is None and row.working_days is None and row.days_left is None
        assert not row.overdue
        assert "the Work Off Plan states its own resolution date" in row.notes[0]


def test_overdue_only_after_the_due_date_and_then_a_correction_plan_is_needed() -> None:
    due = date(2027, 1, 6)
    before = work_off_row(issue("x"), CERT, today=date(2027, 1, 4))
    on_the_day = work_off_row(issue("x"), CERT, today=due)
    after = work_off_row(issue("x"), CERT, today=date(2027, 1, 7))
    assert (before.days_left, before.overdue) == (2, False)
    assert (on_the_day.days_left, on_the_day.overdue) == (0, False)
    assert (after.days_left, after.overdue) == (-1, True)
    assert before.notes == on_the_day.notes == ()
    assert any("correction plan" in n and "15.2" in n for n in after.notes)


def test_without_today_nothing_is_flagged() -> None:
    row = work_off_row(issue("x"), CERT)
    assert row.days_left is None and row.overdue is False


def test_a_pending_dispute_keeps_the_dcc_severity_and_says_so() -> None:
    # 14.4: the DCC's severity is included in any evaluation until the TAG determines the dispute.
    row = work_off_row(issue("x", 3, dispute={"severity": 5, "state": "pending"}), CERT)
    assert row.severity == 3 and row.due == date(2027, 1, 6)
    assert any("14.4" in n for n in row.notes)


def test_json_row_has_the_interchange_names() -> None:
    row = work_off_row(issue("TI-0001", 4, title="t", entries=["E1"]), CERT, today=date(2027, 2, 4))
    assert row.to_json() == {
        "id": "TI-0001",
        "severity": 4,
        "title": "t",
        "entries": ["E1"],
        "working_days": 40,
        "due": "2027-02-03",
        "days_left": -1,
        "overdue": True,
        "note": row.notes[0],
    }
