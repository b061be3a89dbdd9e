"""Trend of pass rate and extant issues: rebuilt from the issue log's history, drawn, in the weekly report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from harness.model.interchange import Issue
from harness.reports.data import find_runs, gather
from harness.reports.render import render_html, render_markdown
from harness.reports.trend import chart, extant_at, issue_snapshot_at, point, render_png, render_svg
from harness.reports.weekly import build_weekly_report, parse_week, trend_points, week_bounds
from tests.reports import dataset


def _rec(at: str, action: str, field: str | None, new: object) -> dict[str, object]:
    return {"at": at, "by": "alice", "action": action, "field": field, "old": None, "new": new}


ISSUE = Issue.model_validate(
    {
        "id": "TI-0009",
        "severity": 2,
        "status": "closed",
        "exclusion": {"rationale": "stub", "tag": "disagreed"},
        "history": [
            _rec("2026-11-02T10:00:00Z", "add", None, {"severity": 3, "status": "open", "exclusion": None}),
            _rec("2026-11-04T10:00:00Z", "exclude", "exclusion", {"rationale": "stub", "tag": "pending"}),
            _rec("2026-11-06T10:00:00Z", "update", "severity", 2),
            _rec("2026-11-08T10:00:00Z", "tag", "exclusion", {"rationale": "stub", "tag": "disagreed"}),
            _rec("2026-11-10T10:00:00Z", "close", "status", "closed"),
        ],
    }
)


def _t(day: int) -> datetime:
    return datetime(2026, 11, day, 12, tzinfo=UTC)


def test_issue_state_is_rebuilt_from_history() -> None:
    assert issue_snapshot_at(ISSUE, _t(1)) is None  # not raised yet
    states = {day: issue_snapshot_at(ISSUE, _t(day)) for day in (3, 5, 7, 9, 11)}
    assert [(s.status, s.severity, s.exclusion_tag) for s in states.values() if s] == [
        ("open", 3, None),
        ("open", 3, "pending"),
        ("open", 2, "pending"),
        ("open", 2, "disagreed"),
        ("closed", 2, "disagreed"),
    ]
    # Extant: open and not excluded; a pending exclusion excludes under the DMCT reading only (20.29 (a)).
    assert [extant_at([ISSUE], _t(d))[3] + extant_at([ISSUE], _t(d))[2] for d in (3, 5, 7, 9, 11)] == [
        1,
        0,
        0,
        1,
        0,
    ]
    assert extant_at([ISSUE], _t(7), pending_excludes=False) == {1: 0, 2: 1, 3: 0, 4: 0, 5: 0}


def test_trend_picture_is_written_and_stable(tmp_path: Path) -> None:
    points = [
        point("11-26 02:00", 10, 10, 10, {}),
        point("11-27 02:00", 10, 9, 8, {3: 2, 4: 1}),
        point("11-28 02:00", 10, 0, 0, {1: 1}),  # nothing executed: no pass rate
    ]
    png = render_png(points, "last 3 nights")
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    svg = render_svg(points, "last 3 nights")
    assert svg.startswith("<svg") and "11-27 02:00" in svg and "pass rate" in svg and "sev 3" in svg
    assert render_svg(points, "last 3 nights") == svg  # same points, same bytes
    block = chart(points, "t")
    assert block.rows[1] == ("11-27 02:00", "88.9%", "9/10", "0", "0", "2", "1", "0", "3")
    assert block.rows[2][1] == "-"
    assert render_png([], "empty").startswith(b"\x89PNG")


@pytest.fixture
def ds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DMCT_STORE", raising=False)
    dataset.build(tmp_path)
    return tmp_path


def test_weekly_report_has_the_trend(ds: Path) -> None:
    data = gather(find_runs(Path("results")), issues_file=Path("issues.json"))
    doc = build_weekly_report(data, parse_week("2026-W48"), date(2026, 11, 30))
    md = render_markdown(doc)
    assert "## Trend: pass rate and extant Testing Issues — 16.2" in md
    # W47: only R1 (9 executed, 8 passed); W48: both runs. TI-0003's pending exclusion excludes it (dmct).
    assert "| 2026-W47 | 88.9% | 9/20 | 0 | 0 | 1 | 0 | 0 | 1 |" in md
    assert "| 2026-W48 | 80.0% | 20/20 | 0 | 0 | 1 | 1 | 0 | 2 |" in md
    assert "| 2026-W44 | - | no run yet |" in md  # before the first run: a gap, not 0 % coverage
    points = {p.label: p for p in trend_points(data, week_bounds(parse_week("2026-W48"))[1])}
    assert points["2026-W46"].coverage is None and points["2026-W47"].coverage == 9 / 20
    html = render_html(doc)
    start = html.index('<figure class="trend"')
    assert html.index("<svg", start) < html.index("</figure>", start)
    assert "Trend: last 5 weeks to the end of 2026-W48" in html
