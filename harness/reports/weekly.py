"""The weekly test execution report (SVTAD 16.1-16.4, with 9.4 (c) for tests not run).

16.1: "The DCC shall provide a weekly test execution report … the content shall be anonymised and
redacted where appropriate". 16.2: it "shall detail progress of testing …, including relevant test
phases, test issue reporting, capacity". 16.4: "progress of testing and testing coverage of functional
areas, including functional groups as detailed in the heatmap". 9.4 (c): "an explanation of why any tests
were not run" — here the blocked, errored and skipped executions of the week with their recorded reason.

Everything is as of the end of the ISO week (Monday 00:00 UTC to the next Monday): progress counts the
latest execution of each test up to then, and issue counts are reconstructed from each issue's audit
history (the ``add`` record's initial fields, then every later ``status``/``severity`` change), so a report
for a past week says what was true that week, not what is true today. The same reconstruction
(:mod:`harness.reports.trend`, which also follows ``exclusion`` changes) draws the trend section: pass rate,
coverage and *extant* issues by severity at the end of each of the last weeks, as a picture.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from harness.errors import DmctInputError
from harness.model.entries import EntryRecord
from harness.model.interchange import Issue, format_at
from harness.reports.data import Execution, Key, ReportData
from harness.reports.heatmap import build_heatmap
from harness.reports.model import Block, Document, Figure, Missing, Para, Section, Table, pct
from harness.reports.trend import TrendPoint, chart, extant_at, issue_snapshot_at, point
from harness.rules.verdict import planned_tests

TREND_WEEKS = 5
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
NOT_RUN = ("blocked", "error", "skipped")


def parse_week(text: str) -> date:
    """``YYYY-Www`` → the Monday of that ISO week (bad input is a one-line error)."""
    m = _WEEK.match(text or "")
    if not m:
        raise DmctInputError("--week", f"not an ISO week (YYYY-Www): {text!r}")
    try:
        return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise DmctInputError("--week", f"{text!r}: {exc}") from None


def week_bounds(monday: date) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, time(0), tzinfo=UTC)
    return start, start + timedelta(days=7)


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _when(at: str) -> datetime | None:
    """``at`` of a journal line as a datetime; the plugin's canonical form is parsed without the slow path."""
    if len(at) == 27 and at[-1] == "Z":
        try:
            return datetime.fromisoformat(at[:-1]).replace(tzinfo=UTC)
        except ValueError:
            return None
    return _parse(at)


def issue_state_at(issue: Issue, when: datetime) -> tuple[str, int] | None:
    """(status, severity) of ``issue`` at ``when`` from its history; None if it was not raised yet.

    Without an ``add`` record the issue is taken to exist from ``raised`` (or always) in its current state.
    The reconstruction is :func:`harness.reports.trend.issue_snapshot_at`, shared with the trends.
    """
    snap = issue_snapshot_at(issue, when)
    return None if snap is None else (snap.status, snap.severity)


def progress_at(data: ReportData, until: datetime) -> tuple[int, int, int]:
    """(planned, executed, passed) over the plan as of ``until``: each test's latest execution before it.

    The plugin's canonical timestamps (``format_at``) order as strings, so those are compared unparsed.
    """
    plan, profile = data.plan, data.verdict.profile
    until_s = format_at(until)
    planned = executed = passed = 0
    for entry in plan.entries:
        for pack, tests in planned_tests(plan, entry, profile).items():
            for test in tests:
                planned += 1
                runs = data.executions.get((entry.id, pack, test))
                if not runs:
                    continue
                last = None
                for e in reversed(runs):
                    if len(e.at) == 27 and e.at[-1] == "Z":
                        if e.at < until_s:
                            last = e
                            break
                    else:
                        when = _when(e.at)
                        if when is not None and when < until:
                            last = e
                            break
                if last is not None and last.outcome in ("passed", "failed"):
                    executed += 1
                    passed += last.outcome == "passed"
    return planned, executed, passed


def trend_points(data: ReportData, end: datetime, weeks: int = TREND_WEEKS) -> list[TrendPoint]:
    """One point per week end of the last ``weeks`` weeks (oldest first): pass rate, coverage and
    extant issues by severity as they were then (profile reading of pending exclusions)."""
    pending = data.verdict.profile.pending_exclusion_excludes
    stamps = [when for runs in data.executions.values() if runs and (when := _when(runs[0].at)) is not None]
    first = min(stamps, default=None)
    points = []
    for back in range(weeks - 1, -1, -1):
        w_end = end - timedelta(weeks=back)
        planned, executed, passed = progress_at(data, w_end)
        extant = extant_at(data.issues, w_end - timedelta(microseconds=1), pending_excludes=pending)
        w = (w_end - timedelta(days=7)).date().isocalendar()
        ran = first is not None and first < w_end  # before the first execution: a gap, not 0 %
        points.append(point(f"{w.year}-W{w.week:02d}", planned, executed, passed, extant, ran))
    return points


def _pauses_section(entries: Sequence[EntryRecord] | None, monday: date) -> list[Block]:
    """20.21: "Where the DMCT Process is paused (or recommenced), the DCC shall inform the Panel and the
    Secretary of State via the reports produced pursuant to Clause 16.1"."""
    if entries is None:
        return [Missing("the DMCT Status List (dmct entries): no store with planned entries was found")]
    sunday = monday + timedelta(days=6)
    rows = []
    for e in entries:
        for p in e.pauses:
            if monday <= p.paused <= sunday:
                rows.append((e.id, e.dmc, "paused", p.paused.isoformat(), p.reason, p.issue or ""))
            if p.resumed is not None and monday <= p.resumed <= sunday:
                rows.append((e.id, e.dmc, "recommenced", p.resumed.isoformat(), p.resume_reason or "",
                             p.issue or ""))  # fmt: skip
    still = [e.id for e in entries if e.status == "paused"]
    blocks: list[Block] = []
    if rows:
        blocks.append(Table(("entry", "DMC", "event", "on", "reason", "Testing Issue"), tuple(rows)))
    else:
        blocks.append(Para("The DMCT Process was neither paused nor recommenced for any entry this week."))
    blocks.append(Para("Paused at the time of this report: " + (", ".join(still) or "none") + "."))
    return blocks


def build_weekly_report(
    data: ReportData, monday: date, generated: date, entries: Sequence[EntryRecord] | None = None
) -> Document:
    """``entries``: the DMCT Status List from the store (None: none found), for the 20.21 section."""
    start, end = week_bounds(monday)
    iso = monday.isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    plan, profile = data.plan, data.verdict.profile

    # The latest execution up to the end of the week, per (entry, pack, test) (20.22).
    latest: dict[Key, Execution] = {}
    this_week: dict[Key, list[Execution]] = {}
    # The plugin's canonical timestamps (format_at) order as strings: compare those without parsing.
    start_s, end_s = format_at(start), format_at(end)
    for key, runs in data.executions.items():
        if all(len(e.at) == 27 and e.at[-1] == "Z" for e in runs):
            upto = [e for e in runs if e.at < end_s]
            inside = [e for e in upto if e.at >= start_s]
        else:
            stamped = [(when, e) for e in runs if (when := _when(e.at)) is not None and when < end]
            upto = [e for _, e in stamped]
            inside = [e for when, e in stamped if when >= start]
        if upto:
            latest[key] = upto[-1]
        if inside:
            this_week[key] = inside

    progress: dict[str, list[int]] = {}
    entry_rows = []
    for entry in plan.entries:
        e_planned = e_exec = 0
        for pack, tests in planned_tests(plan, entry, profile).items():
            row = progress.setdefault(pack, [0, 0, 0, 0, 0])
            for test in tests:
                key = (entry.id, pack, test)
                row[0] += 1
                e_planned += 1
                last = latest.get(key)
                if last is not None and last.outcome in ("passed", "failed"):
                    row[1] += 1
                    e_exec += 1
                    row[2] += last.outcome == "passed"
                    row[3] += last.outcome == "failed"
                if key in this_week:
                    row[4] += 1
        status = data.verdict.entries[entry.id].status if entry.id in data.verdict.entries else "-"
        entry_rows.append(
            (
                entry.id,
                entry.dmc,
                f"{e_exec}/{e_planned}",
                pct(e_exec / e_planned if e_planned else None),
                status.replace("_", " "),
            )
        )
    prog_rows = tuple(
        (
            profile.name,
            pack,
            str(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3]),
            str(r[0] - r[1]),
            pct(r[2] / r[1] if r[1] else None),
            str(r[4]),
        )
        for pack, r in progress.items()
    )
    sec_progress: list[Block] = [
        Para(
            f"Phase (exit profile) {profile.name}: {profile.title}. Counts are as of the end of {week}; "
            "'this week' counts tests with at least one execution in the week."
        ),
        Table(
            (
                "phase",
                "pack",
                "planned",
                "executed",
                "passed",
                "failed",
                "not executed",
                "pass rate",
                "run this week",
            ),
            prog_rows,
        ),
        Table(
            ("entry", "DMC", "executed/planned", "coverage", "status (verdict now)"),
            tuple(entry_rows),
            caption="Per planned entry on the EPCL",
        ),
    ]

    # Issues by severity at the end of each of the last weeks (trend), raised and closed in the week.
    sec_issues: list[Block] = []
    if data.issues_source is None:
        from harness.reports.model import Missing

        sec_issues.append(Missing("the Testing Issue log: no issues file or store was found"))
    trend_rows = []
    for back in range(TREND_WEEKS - 1, -1, -1):
        w_end = end - timedelta(weeks=back)
        counts: Counter[int] = Counter()
        for issue in data.issues:
            state = issue_state_at(issue, w_end - timedelta(microseconds=1))
            if state is not None and state[0] == "open":
                counts[state[1]] += 1
        w = (w_end - timedelta(days=7)).date().isocalendar()
        trend_rows.append(
            (f"{w.year}-W{w.week:02d}", *(str(counts[s]) for s in range(1, 6)), str(sum(counts.values())))
        )
    sec_issues.append(
        Table(
            ("week", "sev 1", "sev 2", "sev 3", "sev 4", "sev 5", "open"),
            tuple(trend_rows),
            caption="Open Testing Issues by severity at the end of each week (trend)",
        )
    )
    raised = closed = 0
    for issue in data.issues:
        before = issue_state_at(issue, start - timedelta(microseconds=1))
        after = issue_state_at(issue, end - timedelta(microseconds=1))
        raised += before is None and after is not None
        closed += after is not None and after[0] == "closed" and (before is None or before[0] == "open")
    sec_issues.append(Para(f"In {week}: {raised} issue(s) raised, {closed} closed."))

    # Trend of pass rate and extant issues over the last weeks, as a picture (16.2).
    points = trend_points(data, end)
    trend = chart(points, f"last {len(points)} weeks to the end of {week}")
    sec_trend: list[Block] = [
        Para(
            "Pass rate and coverage of the planned tests, and extant Testing Issues by severity, at the end "
            f"of each of the last {len(points)} weeks (extant: open and not excluded; "
            + (
                "a proposed exclusion excludes until the TAG disagrees, 20.29 (a)"
                if profile.pending_exclusion_excludes
                else "only an exclusion the TAG agreed excludes, 13.25"
            )
            + ")."
        ),
        cast(Block, trend),
    ]

    entries_heat = [(e.id, [e.id]) for e in plan.entries]
    saved = data.latest
    data.latest = {k: (v.at, v.outcome) for k, v in latest.items()}
    try:
        heat = build_heatmap(data, entries_heat, f"as of the end of {week}")
    finally:
        data.latest = saved

    blocked = []
    reasons: Counter[str] = Counter()
    for key, runs in sorted(this_week.items()):
        for e in runs:
            if e.outcome in NOT_RUN:
                blocked.append((key[0], key[1], key[2], e.shown, e.at, e.rig or "—", e.reason or "MISSING"))
                reasons[e.reason or "(no reason recorded)"] += 1
    sec_blocked: list[Block] = []
    if blocked:
        sec_blocked.append(Table(("entry", "pack", "test", "outcome", "at", "rig", "reason"), tuple(blocked)))
        sec_blocked.append(
            Table(
                ("reason", "executions"),
                tuple((r, str(n)) for r, n in reasons.most_common()),
                caption="Why tests were not run (9.4 (c))",
            )
        )
    else:
        sec_blocked.append(Para(f"No execution in {week} was blocked, errored or skipped."))

    return Document(
        kind="weekly",
        title=f"Weekly test execution report — {week}",
        subtitle=f"SEC Appendix AK (SMETS1 SVTAD) 16.1-16.4: {monday.isoformat()} to "
        f"{(monday + timedelta(days=6)).isoformat()}",
        meta=[
            ("Week", week),
            ("Generated", generated.isoformat()),
            ("Runs", str(len(data.runs))),
            ("Testing Issue log", data.issues_source or "MISSING"),
        ],
        sections=[
            Section("progress", "Progress per phase and pack", "16.2", sec_progress),
            Section("issues", "Testing Issues by severity and trend", "16.2", sec_issues),
            Section("trend", "Trend: pass rate and extant Testing Issues", "16.2", sec_trend),
            Section("coverage", "Coverage of functional groups", "16.4", [Figure(heat)]),
            Section("blocked", "Tests not run this week and why", "9.4 (c)", sec_blocked),
            Section(
                "paused", "DMCT Process paused and recommenced", "20.21", _pauses_section(entries, monday)
            ),
        ],
        status=week,
        footer="Anonymise and redact before sending to the Panel and the Secretary of State (16.1): "
        "--redact.",
    )
