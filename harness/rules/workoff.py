"""Work Off Plans (SVTAD 15): a line for every open Testing Issue at exit.

15.1: "all open Testing Issues shall be documented in a Work Off Plan", resolved "within 20 / 40 / 60
Working Days from the issuing of a Test Completion Certificate" for severity 3 / 4 / 5; 20.34 (d) and
20.35 (d) ask the DMCT Testing Report to confirm that every open issue is closed or under a Work Off
Plan. So *every* open issue gets a line: excluded ones too (an exclusion takes an issue out of the
threshold count, 20.29, not out of the plan), and severity 1-2 ones, which an unsuccessful entry still
has. 15.1 sets no timescale for severity 1-2 (their threshold is 0): their line has no computed date and
says that the plan states its own.

15.2: "If the timescales for resolution of a Work Off Plan are not going to be met ... a correction plan
shall be produced and presented to the TAB for its approval", and the TAB may revoke the Test Completion
Certificate. An overdue row carries that note. Pure functions: the CLI (``dmct workoff``) does the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from harness.model.interchange import Issue
from harness.rules.workdays import work_off_days, work_off_due, working_days_between

NOTE_SEVERITY_1_2 = (
    "15.1 sets no Work Off timescale for severity {severity} (threshold 0, Tables 13.2, 13.3, 20.1): "
    "the Work Off Plan states its own resolution date"
)
NOTE_EXCLUDED = (
    "excluded from the threshold count ({scope}, 20.29): still under a Work Off Plan (15.1, 20.34 (d))"
)
NOTE_OVERDUE = (
    "overdue: a correction plan must be presented to the TAB for approval; the TAB may revoke the "
    "Test Completion Certificate (15.2)"
)
NOTE_DISPUTE = "severity disputed (argued {argued}), pending TAG: the DCC's severity counts until then (14.4)"


@dataclass(frozen=True, slots=True)
class WorkOffRow:
    """One line of a Work Off Plan.

    ``due`` is None for severity 1-2 (see the module doc). ``days_left`` (Working Days from ``today``,
    exclusive, to ``due``, inclusive; 0 on the due date, negative after it) and ``overdue`` (``today`` is
    after ``due``) are only set when a ``today`` was given.
    """

    id: str
    severity: int
    title: str
    entries: tuple[str, ...]
    working_days: int | None
    due: date | None
    days_left: int | None
    overdue: bool
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "title": self.title,
            "entries": list(self.entries),
            "working_days": self.working_days,
            "due": None if self.due is None else self.due.isoformat(),
            "days_left": self.days_left,
            "overdue": self.overdue,
            "note": "; ".join(self.notes) or None,
        }


def work_off_row(issue: Issue, certificate_date: date, today: date | None = None) -> WorkOffRow:
    """The Work Off Plan line for one open ``issue`` (its current, DCC-assigned severity, 14.4)."""
    due = work_off_due(certificate_date, issue.severity)
    notes: list[str] = []
    if due is None:
        notes.append(NOTE_SEVERITY_1_2.format(severity=issue.severity))
    days_left: int | None = None
    overdue = False
    if today is not None and due is not None:
        days_left = working_days_between(today, due)
        overdue = today > due
        if overdue:
            notes.append(NOTE_OVERDUE)
    if issue.dispute is not None and issue.dispute.state == "pending":
        notes.append(NOTE_DISPUTE.format(argued=issue.dispute.severity))
    excluded_for = sorted(e for e in issue.exclusions if issue.excluded_for(e))
    if issue.excluded:
        notes.append(NOTE_EXCLUDED.format(scope="for every entry it affects"))
    elif excluded_for:
        notes.append(NOTE_EXCLUDED.format(scope="in respect of " + ", ".join(excluded_for)))
    return WorkOffRow(
        id=issue.id,
        severity=issue.severity,
        title=issue.title,
        entries=tuple(issue.entries),
        working_days=work_off_days(issue.severity),
        due=due,
        days_left=days_left,
        overdue=overdue,
        notes=tuple(notes),
    )


def work_off_plan(
    issues: Iterable[Issue], certificate_date: date, today: date | None = None
) -> list[WorkOffRow]:
    """Rows for every open issue (15.1, 20.34 (d)): severity 1-2 first (no 15.1 date), then by due date.

    Closed issues get no row. Ties keep the order of ``issues``, so the plan is as stable as the log it
    comes from.
    """
    rows = [work_off_row(i, certificate_date, today) for i in issues if i.status == "open"]
    return sorted(rows, key=lambda r: (r.due is not None, r.due or date.min))
